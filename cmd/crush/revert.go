package main

import (
	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/client/crush"
)

type revertCmd struct {
	g       *globals
	toRev   uint64
	ifMatch uint64
}

func newRevertCmd(g *globals) *cobra.Command {
	c := &revertCmd{g: g}
	cmd := &cobra.Command{
		Use:   "revert KEY --to-rev N",
		Short: "Restore the value a key had at rev N, as a new rev (history stays append-only)",
		Example: `  crush revert app/config --to-rev 2
  crush revert app/config --to-rev 2 --if-match 5`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(cmd, args[0]) },
	}
	cmd.Flags().Uint64Var(&c.toRev, "to-rev", 0, "the rev whose value to restore (required)")
	cmd.Flags().Uint64Var(&c.ifMatch, "if-match", 0, "revert only if the key is at this rev")
	_ = cmd.MarkFlagRequired("to-rev")
	return cmd
}

func (c *revertCmd) run(cmd *cobra.Command, key string) error {
	client, err := c.g.client()
	if err != nil {
		return err
	}
	opts := &crush.RevertOptions{Fork: c.g.fork, If: precondition(cmd, c.ifMatch, false)}
	res, err := client.Revert(cmd.Context(), key, c.toRev, opts)
	if err != nil {
		return err
	}
	return printRow(cmd.OutOrStdout(), c.g.json(), res, []string{"KEY", "FORK", "REV", "REVISION", "REVERTED_TO"},
		[]string{res.Key, res.Fork, u64(res.Rev), i64(res.Revision), u64(res.RevertedTo)})
}
