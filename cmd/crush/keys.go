package main

import (
	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/client/crush"
)

type keysCmd struct {
	g            *globals
	after        string
	limit        int
	revision     int64
	serializable bool
}

func newKeysCmd(g *globals) *cobra.Command {
	c := &keysCmd{g: g}
	cmd := &cobra.Command{
		Use:   "keys [PREFIX]",
		Short: "List the live keys of a fork, sorted, now or at a past revision",
		Example: `  crush keys
  crush keys app/ --fork dev
  crush keys app/ --revision 120 -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(cmd, args) },
	}
	f := cmd.Flags()
	f.StringVar(&c.after, "after", "", "start after this key")
	f.IntVar(&c.limit, "limit", 0, "list at most this many keys (default: all)")
	f.Int64Var(&c.revision, "revision", 0, "list the keys that existed at this store revision")
	f.BoolVar(&c.serializable, "serializable", false, "read the answering node's state without a leader round trip")
	return cmd
}

func (c *keysCmd) run(cmd *cobra.Command, args []string) error {
	client, err := c.g.client()
	if err != nil {
		return err
	}
	opts := &crush.KeysOptions{Fork: c.g.fork, After: c.after, Revision: c.revision, Serializable: c.serializable}
	if len(args) == 1 {
		opts.Prefix = args[0]
	}
	if c.limit > 0 {
		opts.Limit = min(c.limit, 1000)
	}
	keys := []string{}
	for k, err := range client.KeysAll(cmd.Context(), opts) {
		if err != nil {
			return err
		}
		keys = append(keys, k)
		if c.limit > 0 && len(keys) == c.limit {
			break
		}
	}
	if c.g.json() {
		return printJSON(cmd.OutOrStdout(), map[string][]string{"keys": keys})
	}
	t := newTable(cmd.OutOrStdout(), "KEY")
	for _, k := range keys {
		t.row(k)
	}
	return t.flush()
}
