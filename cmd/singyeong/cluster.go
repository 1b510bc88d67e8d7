package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	singyeong "github.com/mahou-go/mahou/client/singyeong"
)

func newClusterCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "show the cluster's members and queue group, remove a node gone for good",
	}
	cmd.AddCommand(newClusterStatusCommand(), newClusterRemoveCommand())
	return cmd
}

func newClusterStatusCommand() *cobra.Command {
	var af adminFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "list the members as the server sees them, with the queue group's leader and indexes",
		Example: "  singyeong cluster status\n" +
			"  singyeong cluster status --server http://10.0.0.2:4567 -o json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, ctx, cancel, err := af.rest(cmd.Context())
			if err != nil {
				return err
			}
			defer cancel()
			st, err := api.Cluster(ctx)
			if err != nil {
				return err
			}
			if af.output == "json" {
				return writeJSONLine(cmd.OutOrStdout(), st)
			}
			return printCluster(cmd.OutOrStdout(), st)
		},
	}
	af.register(cmd)
	return cmd
}

func printCluster(w io.Writer, st singyeong.ClusterStatus) error {
	suffrage := make(map[string]string, len(st.Queues.Servers))
	for _, s := range st.Queues.Servers {
		suffrage[s.ID] = s.Suffrage
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tLINK\tCLIENTS\tAPI\tCLUSTER\tQUEUES")
	for _, m := range st.Members {
		id := m.ID
		if m.Self {
			id += " *"
		}
		role := suffrage[m.ID]
		if role == "" {
			role = "-"
		}
		if m.ID == st.Queues.Leader {
			role = "leader"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", id, m.State, m.Link, m.Clients, orDash(m.APIAddr),
			orDash(m.ClusterAddr), role)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	q := st.Queues
	_, err := fmt.Fprintf(w, "queue group: %s, leader %s, term %d, commit %d, applied %d\n",
		q.State, orDash(q.Leader), q.Term, q.CommitIndex, q.AppliedIndex)
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newClusterRemoveCommand() *cobra.Command {
	var af adminFlags
	cmd := &cobra.Command{
		Use:   "remove NODE-ID",
		Short: "remove a node that is gone for good from the queue group (stop it first)",
		Long: "Remove a node that is gone for good from the queue group, so that the quorum counts\n" +
			"only live nodes. Any member passes the request to the queue leader. A node that is still\n" +
			"alive is added back within a second: stop it first.",
		Example: "  singyeong cluster remove n3",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, ctx, cancel, err := af.rest(cmd.Context())
			if err != nil {
				return err
			}
			defer cancel()
			if err := api.RemoveMember(ctx, args[0]); err != nil {
				return err
			}
			if af.output == "json" {
				return writeJSONLine(cmd.OutOrStdout(), map[string]any{"removed": args[0]})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", args[0])
			return err
		},
	}
	af.register(cmd)
	return cmd
}
