package main

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/client/crush"
)

func newMemberCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "member",
		Short: "List, add, remove and promote cluster members",
	}
	cmd.AddCommand(newMemberListCmd(g), newMemberAddCmd(g), newMemberRemoveCmd(g), newMemberPromoteCmd(g))
	return cmd
}

func newMemberListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the members with their state as each one reports it",
		Example: `  crush member list --endpoints 10.0.0.1:7654`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			ms, err := c.Members(cmd.Context())
			if err != nil {
				return err
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), ms)
			}
			t := newTable(cmd.OutOrStdout(), "ID", "STATE", "VOTER", "LEADER", "REACHABLE", "APPLIED_INDEX", "RAFT_ADDR", "API_ADDR")
			for _, m := range ms.Members {
				voter := strconv.FormatBool(m.Voter)
				if !m.Voter && m.WantVoter {
					voter = "catching up"
				}
				t.row(m.ID, m.State, voter, strconv.FormatBool(m.Leader), strconv.FormatBool(m.Reachable),
					u64(m.AppliedIndex), m.RaftAddr, m.APIAddr)
			}
			return t.flush()
		},
	}
}

func newMemberAddCmd(g *globals) *cobra.Command {
	var m crush.NewMember
	var nonvoter bool
	cmd := &cobra.Command{
		Use:   "add ID RAFT_ADDR",
		Short: "Add a server (a voter once it has caught up, unless --nonvoter)",
		Long: `Add a server to the cluster. Then start it with the same --node-id, its --raft-addr and
no --peers. Prefer starting the new node with --join, which does both.`,
		Example: `  crush member add n4 10.0.0.4:7655 --api-addr http://10.0.0.4:7654`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			m.ID, m.RaftAddr, m.Voter = args[0], args[1], !nonvoter
			if err := c.AddMember(cmd.Context(), m); err != nil {
				return err
			}
			return printRow(cmd.OutOrStdout(), g.json(), map[string]any{"id": m.ID, "added": true, "voter_when_caught_up": m.Voter},
				[]string{"ID", "ADDED", "VOTER_WHEN_CAUGHT_UP"}, []string{m.ID, "true", strconv.FormatBool(m.Voter)})
		},
	}
	cmd.Flags().StringVar(&m.APIAddr, "api-addr", "", "the new member's API URL (it registers it itself when it starts)")
	cmd.Flags().BoolVar(&nonvoter, "nonvoter", false, "keep the member a non-voter (it replicates but does not vote)")
	return cmd
}

func newMemberRemoveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "remove ID",
		Short:   "Remove a member; it stops serving",
		Example: `  crush member remove n3`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.RemoveMember(cmd.Context(), args[0]); err != nil {
				return err
			}
			return printRow(cmd.OutOrStdout(), g.json(), map[string]any{"id": args[0], "removed": true},
				[]string{"ID", "REMOVED"}, []string{args[0], "true"})
		},
	}
}

func newMemberPromoteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "promote ID",
		Short:   "Make a non-voter a voter once it has caught up",
		Example: `  crush member promote n4`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.PromoteMember(cmd.Context(), args[0]); err != nil {
				return err
			}
			return printRow(cmd.OutOrStdout(), g.json(), map[string]any{"id": args[0], "promoting": true},
				[]string{"ID", "PROMOTING"}, []string{args[0], "true"})
		},
	}
}
