// Command singyeong runs the singyeong message bus (serve) and talks to one as a client (send,
// broadcast, query, listen, queue, cluster).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, "singyeong: ") { // the client package's errors name it already
			msg = "singyeong: " + msg
		}
		fmt.Fprintln(os.Stderr, msg)
		os.Exit(1)
	}
}
