package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/client/crush"
)

type mergeCmd struct {
	g        *globals
	target   targetFlags
	from, to string
	strategy string
}

func newMergeCmd(g *globals) *cobra.Command {
	c := &mergeCmd{g: g}
	cmd := &cobra.Command{
		Use:   "merge --from FORK (--key KEY | --prefix PREFIX)",
		Short: "Merge the changes of a fork into another (three-way by default, atomic)",
		Long: `Merge the changes of --from into --to (default: --fork, or "default").

The three-way strategy uses the fork point as base: keys changed on one side only are
fast-forwarded; keys changed on both sides are conflicts, and then nothing is applied and the
conflicts are listed. source-wins overwrites the target (crush v1's merge); target-wins keeps
the target's value on conflicting keys.`,
		Example: `  crush merge --from dev --prefix app/
  crush merge --from dev --key app/config --strategy source-wins`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.run(cmd) },
	}
	c.target.register(cmd, "merge")
	f := cmd.Flags()
	f.StringVar(&c.from, "from", "", "the fork whose changes to bring (required)")
	f.StringVar(&c.to, "to", "", `the fork to change (default: --fork, or "default")`)
	f.StringVar(&c.strategy, "strategy", "three-way", "three-way, source-wins or target-wins")
	_ = cmd.MarkFlagRequired("from")
	return cmd
}

func (c *mergeCmd) run(cmd *cobra.Command) error {
	client, err := c.g.client()
	if err != nil {
		return err
	}
	to := c.to
	if to == "" {
		to = c.g.forkName()
	}
	res, err := client.Merge(cmd.Context(), crush.MergeRequest{From: c.from, To: to, Target: c.target.target(cmd),
		Strategy: crush.Strategy(c.strategy)})
	var e *crush.Error
	if errors.As(err, &e) && len(e.Conflicts) > 0 {
		printConflicts(cmd.ErrOrStderr(), e.Conflicts)
	}
	if err != nil {
		return err
	}
	if c.g.json() {
		return printJSON(cmd.OutOrStdout(), res)
	}
	return printKeyResults(cmd.OutOrStdout(), res.Keys, res.Revision)
}

func printConflicts(w io.Writer, cs []crush.Conflict) {
	t := newTable(w, "CONFLICT", "BASE_REV", "SOURCE_REV", "TARGET_REV")
	for _, c := range cs {
		base := "-"
		if c.BaseRev != nil {
			base = u64(*c.BaseRev)
		}
		t.row(c.Key, base, u64(c.SourceRev), u64(c.TargetRev))
	}
	_ = t.flush()
	fmt.Fprintln(w)
}
