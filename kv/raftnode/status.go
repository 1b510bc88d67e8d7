package raftnode

import (
	"strconv"
	"strings"

	"github.com/mahou-go/mahou/kv"
)

var _ kv.Cluster = (*Node)(nil)

// localStatus is this node's raft state without asking the other members.
func (n *Node) localStatus() kv.ClusterStatus {
	stats := n.raft.Stats()
	term, _ := strconv.ParseUint(stats["term"], 10, 64)
	leaderAddr, leaderID := n.raft.LeaderWithID()
	return kv.ClusterStatus{
		NodeID:       n.cfg.NodeID,
		State:        strings.ToLower(n.raft.State().String()),
		LeaderID:     string(leaderID),
		LeaderAddr:   string(leaderAddr),
		Term:         term,
		CommitIndex:  n.raft.CommitIndex(),
		AppliedIndex: n.raft.AppliedIndex(),
		LastLogIndex: n.raft.LastIndex(),
	}
}
