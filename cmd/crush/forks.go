package main

import (
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/client/crush"
)

func newForksCmd(g *globals) *cobra.Command {
	var serializable bool
	cmd := &cobra.Command{
		Use:     "forks",
		Short:   "List the forks and where they were forked from",
		Example: `  crush forks`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := g.client()
			if err != nil {
				return err
			}
			list, err := client.Forks(cmd.Context(), &crush.ForksOptions{Serializable: serializable})
			if err != nil {
				return err
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), list)
			}
			t := newTable(cmd.OutOrStdout(), "FORK", "KEYS", "CREATED_REVISION", "FORKED_FROM")
			for _, f := range list.Forks {
				t.row(f.Name, strconv.Itoa(f.Keys), i64(f.CreatedRevision), showPoints(f.Points))
			}
			return t.flush()
		},
	}
	cmd.Flags().BoolVar(&serializable, "serializable", false, "read the answering node's state without a leader round trip")
	return cmd
}

// showPoints is "fork:target@revision, ..." or "-".
func showPoints(ps []crush.ForkPoint) string {
	if len(ps) == 0 {
		return "-"
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.From + ":" + p.Target.String() + "@" + i64(p.FromRevision)
	}
	return strings.Join(parts, ", ")
}
