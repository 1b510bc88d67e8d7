// Command mahou runs the mahou stack. For now it has one subcommand, `mahou dev`, which runs
// crush and singyeong together in one process with one local data directory: the whole
// infrastructure of the stack on a laptop. Deploying services comes with the mahou issue.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	root := &cobra.Command{
		Use:           "mahou",
		Short:         "mahou: deploy stateless services on crush and singyeong",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newDevCmd())
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mahou:", err)
		os.Exit(1)
	}
}
