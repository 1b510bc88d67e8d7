package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/internal/datadir"
	"github.com/mahou-go/mahou/kv/boltstore"
)

func newSnapshotCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Back up a node's state, or restore a backup into a new data directory",
	}
	cmd.AddCommand(newSnapshotSaveCmd(g), newSnapshotRestoreCmd())
	return cmd
}

func newSnapshotSaveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "save FILE",
		Short: "Save a consistent copy of the state (every key and its history) to FILE",
		Long: `Save a consistent copy of the state machine of the answering node, after a linearizable
read barrier, so it holds every write acknowledged before the command started. The file is
written aside and renamed into place when complete.`,
		Example: `  crush snapshot save backup.db --endpoints 10.0.0.1:7654`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var rev int64
			err = datadir.ReplaceFile(args[0], func(w io.Writer) (err error) {
				rev, err = c.Snapshot(cmd.Context(), w)
				return err
			})
			if err != nil {
				return fmt.Errorf("save snapshot: %w", err)
			}
			st, _ := os.Stat(args[0])
			return printRow(cmd.OutOrStdout(), g.json(), map[string]any{"file": args[0], "revision": rev, "bytes": st.Size()},
				[]string{"FILE", "REVISION", "BYTES"}, []string{args[0], i64(rev), strconv.FormatInt(st.Size(), 10)})
		},
	}
}

func newSnapshotRestoreCmd() *cobra.Command {
	var dataDir, nodeID string
	cmd := &cobra.Command{
		Use:   "restore FILE --data-dir DIR",
		Short: "Create a new node's data directory from a snapshot (disaster recovery)",
		Long: `Create a data directory holding the snapshot's keys and history, for a new cluster: run it
once per node of the new cluster (each with its own --node-id and --data-dir), then start the
nodes with --peers (or one node alone). The new cluster starts with the snapshot's revision;
its raft log and membership start afresh. DIR must not exist or be empty.`,
		Example: `  crush snapshot restore backup.db --data-dir /var/lib/crush --node-id n1
  crush serve --data-dir /var/lib/crush --node-id n1 --peers n1=10.0.0.1:7655,n2=10.0.0.2:7655,n3=10.0.0.3:7655`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dataDir == "" {
				return fmt.Errorf("--data-dir: name the new data directory")
			}
			if entries, err := os.ReadDir(dataDir); err == nil && len(entries) > 0 {
				return fmt.Errorf("--data-dir %s is not empty: restore into a new directory", dataDir)
			}
			if err := os.MkdirAll(dataDir, 0o750); err != nil {
				return err
			}
			state := filepath.Join(dataDir, "state.db")
			if err := copyFile(args[0], state); err != nil {
				return fmt.Errorf("restore snapshot: %w", err)
			}
			if err := boltstore.PrepareRestore(state); err != nil {
				return err
			}
			if nodeID != "" {
				if _, err := datadir.NodeID(dataDir, nodeID); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %s into %s: start it with crush serve --data-dir %s\n", args[0], dataDir, dataDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "the new data directory")
	cmd.Flags().StringVar(&nodeID, "node-id", "", "the node id of the new node")
	return cmd
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	return datadir.WriteFileSync(to, in)
}
