package main

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/client/crush"
)

type deleteCmd struct {
	g       *globals
	purge   bool
	ifMatch uint64
}

func newDeleteCmd(g *globals) *cobra.Command {
	c := &deleteCmd{g: g}
	cmd := &cobra.Command{
		Use:   "delete KEY",
		Short: "Delete a key: write a tombstone (history stays), or erase it with --purge",
		Example: `  crush delete app/config
  crush delete app/config --if-match 4
  crush delete app/secret --purge`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(cmd, args[0]) },
	}
	cmd.Flags().BoolVar(&c.purge, "purge", false, "erase the key's whole history")
	cmd.Flags().Uint64Var(&c.ifMatch, "if-match", 0, "delete only if the key is at this rev")
	return cmd
}

func (c *deleteCmd) run(cmd *cobra.Command, key string) error {
	client, err := c.g.client()
	if err != nil {
		return err
	}
	opts := &crush.DeleteOptions{Fork: c.g.fork, Purge: c.purge, If: precondition(cmd, c.ifMatch, false)}
	res, err := client.Delete(cmd.Context(), key, opts)
	if err != nil {
		return err
	}
	return printRow(cmd.OutOrStdout(), c.g.json(), res, []string{"KEY", "FORK", "REV", "REVISION", "PURGED"},
		[]string{res.Key, res.Fork, u64(res.Rev), i64(res.Revision), strconv.FormatBool(res.Purged)})
}
