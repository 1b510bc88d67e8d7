package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/client/crush"
)

func newStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the answering node's view of the store and of replication",
		Example: `  crush status
  crush status -o json --endpoints http://10.0.0.2:7654`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := g.client()
			if err != nil {
				return err
			}
			st, err := client.Status(cmd.Context())
			if err != nil {
				return err
			}
			if g.json() {
				return printJSON(cmd.OutOrStdout(), st)
			}
			return printStatus(cmd.OutOrStdout(), st)
		},
	}
}

func printStatus(w io.Writer, st crush.Status) error {
	t := newTable(w)
	t.row("VERSION", st.Version)
	t.row("REVISION", i64(st.Revision))
	t.row("COMPACTED_REVISION", i64(st.CompactedRevision))
	t.row("KEYS", strconv.Itoa(st.Keys))
	t.row("DB_SIZE", fmt.Sprintf("%d bytes", st.DBSizeBytes))
	t.row("APPLIED_INDEX", u64(st.AppliedIndex))
	t.row("RETENTION", showRetention(st.Retention))
	if r := st.Raft; r != nil {
		t.row("NODE", r.NodeID)
		t.row("STATE", r.State)
		t.row("LEADER", r.LeaderID+" "+r.LeaderAddr)
		t.row("TERM", u64(r.Term))
		t.row("COMMIT_INDEX", u64(r.CommitIndex))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if st.Raft == nil || len(st.Raft.Members) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	m := newTable(w, "MEMBER", "RAFT_ADDR", "VOTER", "LEADER")
	for _, mb := range st.Raft.Members {
		m.row(mb.ID, mb.RaftAddr, strconv.FormatBool(mb.Voter), strconv.FormatBool(mb.Leader))
	}
	return m.flush()
}

// showRetention is the policy in words.
func showRetention(r crush.Retention) string {
	if r == (crush.Retention{}) {
		return "keep everything"
	}
	s := ""
	if r.KeepRevs > 0 {
		s = fmt.Sprintf("keep %d revs per key", r.KeepRevs)
	}
	if r.KeepDuration > 0 {
		if s != "" {
			s += ", "
		}
		s += "keep " + r.KeepDuration.String()
	}
	return s
}
