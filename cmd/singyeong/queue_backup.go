package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
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
			// Write beside the target and rename once complete and synced: a failed copy never
			// leaves a file that looks whole.
			tmp, err := os.CreateTemp(filepath.Dir(args[0]), ".queues-backup-*")
			if err != nil {
				return fmt.Errorf("create backup file: %w", err)
			}
			defer os.Remove(tmp.Name())
			n, err := api.BackupQueues(ctx, tmp)
			if err == nil {
				err = tmp.Sync()
			}
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(tmp.Name(), args[0])
			}
			if err != nil {
				return err
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
