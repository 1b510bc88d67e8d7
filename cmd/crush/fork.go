package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/client/crush"
)

// targetFlags are --key and --prefix, shared by fork and merge.
type targetFlags struct {
	key, prefix string
}

func (t *targetFlags) register(cmd *cobra.Command, verb string) {
	cmd.Flags().StringVar(&t.key, "key", "", verb+" one key")
	cmd.Flags().StringVar(&t.prefix, "prefix", "", verb+` every key starting with this prefix ("" with --prefix= is every key)`)
	cmd.MarkFlagsMutuallyExclusive("key", "prefix")
	cmd.MarkFlagsOneRequired("key", "prefix")
}

func (t *targetFlags) target(cmd *cobra.Command) crush.Target {
	if cmd.Flags().Changed("prefix") {
		return crush.Prefix(t.prefix)
	}
	return crush.Key(t.key)
}

type forkCmd struct {
	g        *globals
	target   targetFlags
	from, to string
	revision int64
	force    bool
}

func newForkCmd(g *globals) *cobra.Command {
	c := &forkCmd{g: g}
	cmd := &cobra.Command{
		Use:   "fork --to FORK (--key KEY | --prefix PREFIX)",
		Short: "Fork a key or a prefix into another fork (copy-on-write, atomic)",
		Example: `  crush fork --to dev --prefix app/
  crush fork --from dev --to experiment --key app/config
  crush fork --to yesterday --prefix "" --revision 1200
  crush fork --to dev --key app/config --force`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.run(cmd) },
	}
	c.target.register(cmd, "fork")
	f := cmd.Flags()
	f.StringVar(&c.from, "from", "", `the source fork (default: --fork, or "default")`)
	f.StringVar(&c.to, "to", "", "the new fork (required)")
	f.Int64Var(&c.revision, "revision", 0, "fork the source as it was at this store revision")
	f.BoolVar(&c.force, "force", false, "fork over keys that exist in the target (their history is kept)")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func (c *forkCmd) run(cmd *cobra.Command) error {
	client, err := c.g.client()
	if err != nil {
		return err
	}
	from := c.from
	if from == "" {
		from = c.g.forkName()
	}
	res, err := client.Fork(cmd.Context(), crush.ForkRequest{From: from, To: c.to, Target: c.target.target(cmd),
		Revision: c.revision, Force: c.force})
	if err != nil {
		return err
	}
	if c.g.json() {
		return printJSON(cmd.OutOrStdout(), res)
	}
	return printKeyResults(cmd.OutOrStdout(), res.Keys, res.Revision)
}

// printKeyResults prints what a fork or merge did to each key.
func printKeyResults(w io.Writer, keys []crush.KeyResult, revision int64) error {
	t := newTable(w, "KEY", "REV", "RESULT")
	for _, k := range keys {
		t.row(k.Key, u64(k.Rev), k.Result)
	}
	if err := t.flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d key(s) at revision %d\n", len(keys), revision)
	return err
}
