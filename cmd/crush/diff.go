package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/client/crush"
)

type diffCmd struct {
	g            *globals
	from, to     string
	serializable bool
}

func newDiffCmd(g *globals) *cobra.Command {
	c := &diffCmd{g: g}
	cmd := &cobra.Command{
		Use:   "diff KEY [--from FORK@REV] [--to FORK@REV]",
		Short: "Show the edits between two revs of a key, in one fork or two",
		Long: `Show the edits that turn the value at --from into the value at --to.

A point is FORK@REV, FORK (its current rev) or @REV (in --fork). Without --to the current rev
is used; without --from, the rev before --to. Edits print as lines: "  " kept, "- " removed,
"+ " inserted.`,
		Example: `  crush diff app/config
  crush diff app/config --from @1 --to @4
  crush diff app/config --from default --to dev`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(cmd, args[0]) },
	}
	cmd.Flags().StringVar(&c.from, "from", "", "the older point: FORK@REV, FORK or @REV")
	cmd.Flags().StringVar(&c.to, "to", "", "the newer point: FORK@REV, FORK or @REV")
	cmd.Flags().BoolVar(&c.serializable, "serializable", false, "read the answering node's state without a leader round trip")
	return cmd
}

func (c *diffCmd) run(cmd *cobra.Command, key string) error {
	client, err := c.g.client()
	if err != nil {
		return err
	}
	d, err := client.Diff(cmd.Context(), key, &crush.DiffOptions{Fork: c.g.fork, From: c.from, To: c.to, Serializable: c.serializable})
	if err != nil {
		return err
	}
	if c.g.json() {
		return printJSON(cmd.OutOrStdout(), d)
	}
	return printDiff(cmd.OutOrStdout(), d)
}

var editPrefix = map[string]string{"eq": "  ", "del": "- ", "ins": "+ "}

// printDiff prints a header and one block per edit, each line of its data prefixed.
func printDiff(w io.Writer, d crush.Diff) error {
	fmt.Fprintf(w, "--- %s@%d%s\n+++ %s@%d%s\n", d.From.Fork, d.From.Rev, deletedNote(d.From.Deleted),
		d.To.Fork, d.To.Rev, deletedNote(d.To.Deleted))
	for _, e := range d.Edits {
		prefix, ok := editPrefix[e.Op]
		if !ok {
			prefix = e.Op + " "
		}
		for _, line := range strings.Split(showValue(e.Data), "\n") {
			if _, err := fmt.Fprintf(w, "%s%s\n", prefix, line); err != nil {
				return err
			}
		}
	}
	return nil
}

func deletedNote(deleted bool) string {
	if deleted {
		return " (deleted)"
	}
	return ""
}
