package raftqueue

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
)

// Intervals of the node's loops.
const (
	leadershipPoll   = 50 * time.Millisecond
	reconcilePeriod  = time.Second
	membershipChange = 10 * time.Second
)

// ErrUnknownServer means RemoveServer named a node that is not in the group.
var ErrUnknownServer = errors.New("not a member of the queue group")

// leadership makes the broker lead while raft says this node leads, and follow otherwise.
// Becoming the leader waits for a barrier: every entry of the previous leaders is applied
// before the broker takes work. Once the cluster brought this node every member's clients (or
// after the orphan grace), messages in flight to consumers that are gone come back.
func (n *Node) leadership() {
	defer n.wg.Done()
	t := time.NewTicker(leadershipPoll)
	defer t.Stop()
	leading := false
	for {
		select {
		case <-n.stop:
			return
		case <-n.raft.LeaderCh():
		case <-t.C:
		}
		isLeader := n.raft.State() == raft.Leader
		switch {
		// The broker's own state counts, not only what this loop last did: the broker steps
		// down by itself when a proposal fails, and must lead again while raft says so.
		case isLeader && !n.b.Leading():
			if err := n.wait(n.raft.Barrier(n.cfg.ElectionTimeout * 4)); err != nil {
				n.log.Info("queue leadership barrier failed", "error", err)
				continue
			}
			n.b.Lead()
			leading = true
			if n.b.Leading() { // a closed or failed broker does not lead
				n.wg.Add(1)
				go n.returnOrphans()
			}
		case !isLeader && leading:
			n.b.Follow()
			leading = false
		}
	}
}

// returnOrphans waits for the cluster's clients, then has the broker take back what is in
// flight to consumers that are gone.
func (n *Node) returnOrphans() {
	defer n.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.OrphanGrace)
	defer cancel()
	go func() {
		select {
		case <-n.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	if n.cfg.Synced != nil {
		if err := n.cfg.Synced(ctx); err != nil {
			n.log.Info("not every member's clients arrived in time", "error", err)
		}
	}
	select {
	case <-n.stop:
	default:
		n.b.ReturnOrphans()
	}
}

// reconcile, on the leader, makes every live member a voter (with its current address).
func (n *Node) reconcile() {
	defer n.wg.Done()
	t := time.NewTicker(reconcilePeriod)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		if n.cfg.Members == nil || n.raft.State() != raft.Leader {
			continue
		}
		f := n.raft.GetConfiguration()
		if f.Error() != nil {
			continue
		}
		known := map[string]string{}
		for _, s := range f.Configuration().Servers {
			known[string(s.ID)] = string(s.Address)
		}
		for _, p := range n.cfg.Members() {
			if addr, ok := known[p.ID]; ok && addr == p.Addr || p.Addr == "" {
				continue
			}
			n.log.Info("adding a queue voter", "node", p.ID, "addr", p.Addr)
			if err := n.wait(n.raft.AddVoter(raft.ServerID(p.ID), raft.ServerAddress(p.Addr), 0, membershipChange)); err != nil {
				n.log.Warn("adding a queue voter failed", "node", p.ID, "error", err)
			}
		}
	}
}

// RemoveServer removes a node from the queue group, on the leader (raft.ErrNotLeader
// elsewhere). Remove only nodes that are gone for good: a live member is added again.
func (n *Node) RemoveServer(id string) error {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("remove queue voter %s: %w", id, err)
	}
	found := false
	for _, s := range f.Configuration().Servers {
		found = found || string(s.ID) == id
	}
	if !found {
		return fmt.Errorf("remove queue voter %s: %w", id, ErrUnknownServer)
	}
	if err := n.raft.RemoveServer(raft.ServerID(id), 0, membershipChange).Error(); err != nil {
		return fmt.Errorf("remove queue voter %s: %w", id, err)
	}
	return nil
}

// Status is the group as this node sees it, for GET /api/v1/cluster.
func (n *Node) Status() map[string]any {
	leaderAddr, leaderID := n.leader()
	out := map[string]any{
		"state": n.raft.State().String(), "leader": leaderID, "leader_addr": leaderAddr,
		"term": int64(n.raft.CurrentTerm()), "commit_index": int64(n.raft.CommitIndex()),
		"applied_index": int64(n.raft.AppliedIndex()), "last_index": int64(n.raft.LastIndex()),
		"broker_leading": n.b.Leading(),
	}
	if c := n.raft.LastContact(); !c.IsZero() {
		out["last_contact_ms"] = time.Since(c).Milliseconds()
	}
	if first, err := n.logStore.FirstIndex(); err == nil {
		out["first_index"] = int64(first)
	}
	if snap, err := strconv.ParseInt(n.raft.Stats()["last_snapshot_index"], 10, 64); err == nil {
		out["last_snapshot_index"] = snap
	}
	var voters []any
	if f := n.raft.GetConfiguration(); f.Error() == nil {
		servers := f.Configuration().Servers
		sort.Slice(servers, func(i, j int) bool { return servers[i].ID < servers[j].ID })
		for _, s := range servers {
			voters = append(voters, map[string]any{"id": string(s.ID), "addr": string(s.Address), "suffrage": s.Suffrage.String()})
		}
	}
	out["servers"] = voters
	return out
}
