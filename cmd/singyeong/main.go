// Command singyeong runs the singyeong message bus (serve) and talks to one as a client (send,
// broadcast, query, listen, queue).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "singyeong:", err)
		os.Exit(1)
	}
}
