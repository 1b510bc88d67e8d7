package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/internal/datadir"
)

func newQueueBackupCommand() *cobra.Command {
	var af adminFlags
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "save a consistent copy of the server's queue database (queues.db) while it runs",
		Long: "Save a consistent copy of the queue database while the server runs. To restore, stop the\n" +
			"server, put the file in its data directory as queues.db, and start it.",
		Example: "  singyeong queue backup /backups/queues-$(date +%F).db",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, ctx, cancel, err := af.rest(cmd.Context())
			if err != nil {
				return err
			}
			defer cancel()
			// written beside the target and renamed once complete and synced: a failed copy never
			// leaves a file that looks whole
			var n int64
			err = datadir.ReplaceFile(args[0], func(w io.Writer) (err error) {
				n, err = api.BackupQueues(ctx, w)
				return err
			})
			if err != nil {
				return fmt.Errorf("back up the queues: %w", err)
			}
			if af.output == "json" {
				return writeJSONLine(cmd.OutOrStdout(), map[string]any{"file": args[0], "bytes": n})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: %d bytes\n", args[0], n)
			return err
		},
	}
	af.register(cmd)
	return cmd
}
