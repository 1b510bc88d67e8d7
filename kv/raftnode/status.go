package raftnode

import (
	"strconv"
	"strings"

	"github.com/hashicorp/raft"

	"github.com/mahou-go/mahou/kv"
)

var _ kv.Cluster = (*Node)(nil)

// ClusterStatus implements kv.Cluster.
func (n *Node) ClusterStatus() (kv.ClusterStatus, error) {
	stats := n.raft.Stats()
	term, _ := strconv.ParseUint(stats["term"], 10, 64)
	leaderAddr, leaderID := n.raft.LeaderWithID()
	st := kv.ClusterStatus{
		NodeID:       n.cfg.NodeID,
		State:        strings.ToLower(n.raft.State().String()),
		LeaderID:     string(leaderID),
		LeaderAddr:   string(leaderAddr),
		Term:         term,
		CommitIndex:  n.raft.CommitIndex(),
		AppliedIndex: n.raft.AppliedIndex(),
		LastLogIndex: n.raft.LastIndex(),
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return st, err
	}
	for _, s := range f.Configuration().Servers {
		st.Members = append(st.Members, kv.Member{
			ID:       string(s.ID),
			RaftAddr: string(s.Address),
			Voter:    s.Suffrage == raft.Voter,
			Leader:   s.ID == leaderID,
		})
	}
	return st, nil
}
