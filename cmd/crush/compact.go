package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

func newCompactCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "compact REVISION",
		Short: "Discard history superseded before a store revision (fork points are kept)",
		Long: `Discard every value superseded before REVISION, except what live forks still need.
Reads and watches of older revisions then fail with "compacted" (410).`,
		Example: `  crush compact 1200`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			revision, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("revision %q: want a store revision, a whole number >= 1", args[0])
			}
			client, err := g.client()
			if err != nil {
				return err
			}
			res, err := client.Compact(cmd.Context(), revision)
			if err != nil {
				return err
			}
			return printRow(cmd.OutOrStdout(), g.json(), res, []string{"COMPACTED_REVISION", "REVISION"},
				[]string{i64(res.CompactedRevision), i64(res.Revision)})
		},
	}
}
