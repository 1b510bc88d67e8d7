package raftnode

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/mahou-go/mahou/kv"
)

// memberTimeout bounds one membership change in raft.
const memberTimeout = 10 * time.Second

// reconcileInterval is how often the leader promotes caught-up members and every node checks
// its own registration.
const reconcileInterval = 500 * time.Millisecond

// isMember reports whether this node is in the latest raft configuration.
func (n *Node) isMember() bool {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == n.cfg.NodeID {
			return true
		}
	}
	return false
}

func (n *Node) server(id string) (raft.Server, bool) {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return raft.Server{}, false
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == id {
			return s, true
		}
	}
	return raft.Server{}, false
}

// AddMember implements kv.Cluster.
func (n *Node) AddMember(ctx context.Context, id, raftAddr, apiAddr string, voter bool) error {
	if id == "" {
		return kv.Invalid("invalid_member", "member id is empty: give the node's --node-id")
	}
	if _, _, err := net.SplitHostPort(raftAddr); err != nil {
		return kv.Invalid("invalid_member", "raft address %q: want host:port", raftAddr)
	}
	if n.raft.State() != raft.Leader {
		return n.forwardMember(ctx, memberRequest{Op: "add", ID: id, RaftAddr: raftAddr, APIAddr: apiAddr, Voter: voter})
	}
	if _, err := n.proposeOK(ctx, kv.SetMember{ID: id, APIAddr: apiAddr, WantVoter: voter}); err != nil {
		return err
	}
	if err := n.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(raftAddr), 0, memberTimeout).Error(); err != nil {
		return fmt.Errorf("add member %s: %w", id, n.raftErr(err))
	}
	n.log.Info("member added", "id", id, "raft_addr", raftAddr, "api_addr", apiAddr, "voter_when_caught_up", voter)
	return nil
}

// RemoveMember implements kv.Cluster.
func (n *Node) RemoveMember(ctx context.Context, id string) error {
	if n.raft.State() != raft.Leader {
		return n.forwardMember(ctx, memberRequest{Op: "remove", ID: id})
	}
	if _, ok := n.server(id); !ok {
		return fmt.Errorf("remove member %q: %w", id, kv.ErrUnknownMember)
	}
	if _, err := n.proposeOK(ctx, kv.RemoveMember{ID: id}); err != nil {
		return err
	}
	if err := n.raft.RemoveServer(raft.ServerID(id), 0, memberTimeout).Error(); err != nil {
		return fmt.Errorf("remove member %s: %w", id, n.raftErr(err))
	}
	n.log.Info("member removed", "id", id)
	return nil
}

// PromoteMember implements kv.Cluster.
func (n *Node) PromoteMember(ctx context.Context, id string) error {
	if n.raft.State() != raft.Leader {
		return n.forwardMember(ctx, memberRequest{Op: "promote", ID: id})
	}
	if _, ok := n.server(id); !ok {
		return fmt.Errorf("promote member %q: %w", id, kv.ErrUnknownMember)
	}
	rec := n.registered(id)
	_, err := n.proposeOK(ctx, kv.SetMember{ID: id, APIAddr: rec.APIAddr, WantVoter: true})
	return err
}

// proposeOK proposes and folds a domain failure into the error.
func (n *Node) proposeOK(ctx context.Context, cmd kv.Command) (kv.Result, error) {
	res, err := n.Propose(ctx, cmd)
	if err != nil {
		return res, err
	}
	return res, res.Err
}

func (n *Node) raftErr(err error) error {
	switch err {
	case raft.ErrNotLeader, raft.ErrLeadershipLost:
		return n.notLeader()
	case raft.ErrRaftShutdown, raft.ErrEnqueueTimeout:
		return kv.ErrUnavailable
	}
	return err
}

// forwardMember sends a membership change to the leader.
func (n *Node) forwardMember(ctx context.Context, req memberRequest) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	leader, err := n.leaderAPI(ctx)
	if err != nil {
		return err
	}
	b, status, err := n.peerCall(ctx, http.MethodPost, leader, pathMembers, body)
	if err != nil {
		return fmt.Errorf("forward %s member to leader: %w: %v", req.Op, kv.ErrUnavailable, err)
	}
	switch status {
	case http.StatusNoContent, http.StatusOK:
		return nil
	case http.StatusNotFound:
		return fmt.Errorf("%s member %q: %w", req.Op, req.ID, kv.ErrUnknownMember)
	case http.StatusBadRequest:
		return kv.Invalid("invalid_member", "%s", b)
	case http.StatusServiceUnavailable:
		return fmt.Errorf("%s member: %w: %s", req.Op, kv.ErrUnavailable, b)
	}
	return fmt.Errorf("%s member: leader answered %d: %s", req.Op, status, b)
}

func (n *Node) registered(id string) kv.MemberRecord {
	members, _ := n.store.Members()
	for _, m := range members {
		if m.ID == id {
			return m
		}
	}
	return kv.MemberRecord{ID: id}
}

// reconcileLoop keeps this node registered with its API address and, on the leader, promotes
// members that want a vote once they have caught up.
func (n *Node) reconcileLoop() {
	defer n.wg.Done()
	t := time.NewTicker(reconcileInterval)
	defer t.Stop()
	targets := map[string]uint64{} // member -> commit index it must reach to be promoted
	for {
		// until this node is registered, try again soon rather than at the next tick
		for !n.registerSelf() {
			select {
			case <-n.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		if n.raft.State() == raft.Leader {
			n.promoteCaughtUp(targets)
		}
	}
}

// registerSelf records this node's API address in the registry when it is missing or stale;
// it reports whether the registry is up to date (or there is nothing to register yet).
func (n *Node) registerSelf() bool {
	if n.cfg.APIAddr == "" || !n.isMember() {
		return true
	}
	rec := n.registered(n.cfg.NodeID)
	s, _ := n.server(n.cfg.NodeID)
	want := rec.WantVoter || s.Suffrage == raft.Voter
	if rec.APIAddr == n.cfg.APIAddr && rec.WantVoter == want {
		return true
	}
	if addr, _ := n.raft.LeaderWithID(); addr == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := n.proposeOK(ctx, kv.SetMember{ID: n.cfg.NodeID, APIAddr: n.cfg.APIAddr, WantVoter: want}); err != nil {
		n.log.Debug("register API address", "err", err)
		return false
	}
	return true
}

func (n *Node) promoteCaughtUp(targets map[string]uint64) {
	members, err := n.store.Members()
	if err != nil {
		return
	}
	for _, m := range members {
		s, ok := n.server(m.ID)
		if !ok || s.Suffrage == raft.Voter || !m.WantVoter || m.APIAddr == "" {
			delete(targets, m.ID)
			continue
		}
		applied, _, ok := n.memberStatus(context.Background(), m.APIAddr)
		target, seen := targets[m.ID]
		if ok && seen && applied >= target {
			if err := n.raft.AddVoter(s.ID, s.Address, 0, memberTimeout).Error(); err != nil {
				n.log.Warn("promote member", "id", m.ID, "err", err)
				continue
			}
			n.log.Info("member caught up and promoted to voter", "id", m.ID, "applied_index", applied)
			delete(targets, m.ID)
			continue
		}
		targets[m.ID] = n.raft.CommitIndex()
	}
}

// join asks the given members, in turn, to add this node until one accepts or Close is called.
func (n *Node) joinLoop(addrs []string) {
	defer n.wg.Done()
	req, _ := json.Marshal(memberRequest{Op: "add", ID: n.cfg.NodeID, RaftAddr: n.RaftAddr(), APIAddr: n.cfg.APIAddr, Voter: true})
	for attempt := 0; ; attempt++ {
		if n.isMember() {
			return
		}
		for _, addr := range addrs {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			b, status, err := n.peerCall(ctx, http.MethodPost, addr, pathMembers, req)
			cancel()
			if err == nil && (status == http.StatusNoContent || status == http.StatusOK) {
				n.log.Info("joined the cluster", "via", addr)
				return
			}
			n.log.Warn("join the cluster", "via", addr, "status", status, "err", err, "answer", string(b))
		}
		select {
		case <-n.stop:
			return
		case <-time.After(time.Duration(min(attempt+1, 10)) * 500 * time.Millisecond):
		}
	}
}

// Backup implements kv.Cluster.
func (n *Node) Backup(ctx context.Context, w io.Writer) error {
	if err := n.Linearize(ctx); err != nil {
		return err
	}
	return n.store.Snapshot(w)
}

// ClusterStatus implements kv.Cluster.
func (n *Node) ClusterStatus(ctx context.Context, askMembers bool) (kv.ClusterStatus, error) {
	st := n.localStatus()
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return st, err
	}
	reg := map[string]kv.MemberRecord{}
	if members, err := n.store.Members(); err == nil {
		for _, m := range members {
			reg[m.ID] = m
		}
	}
	servers := f.Configuration().Servers
	st.Members = make([]kv.Member, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		r := reg[string(s.ID)]
		st.Members[i] = kv.Member{ID: string(s.ID), RaftAddr: string(s.Address), APIAddr: r.APIAddr,
			Voter: s.Suffrage == raft.Voter, WantVoter: r.WantVoter, Leader: string(s.ID) == st.LeaderID}
		if string(s.ID) == n.cfg.NodeID {
			st.Members[i].Reachable, st.Members[i].State, st.Members[i].AppliedIndex = true, st.State, st.AppliedIndex
			continue
		}
		if r.APIAddr == "" || !askMembers {
			continue
		}
		wg.Add(1)
		go func(m *kv.Member) {
			defer wg.Done()
			m.AppliedIndex, m.State, m.Reachable = n.memberStatus(ctx, m.APIAddr)
		}(&st.Members[i])
	}
	wg.Wait()
	sort.Slice(st.Members, func(i, j int) bool { return st.Members[i].ID < st.Members[j].ID })
	return st, nil
}

// memberStatus asks a member for its applied index and raft state (its own view, without
// asking its members in turn).
func (n *Node) memberStatus(ctx context.Context, apiAddr string) (uint64, string, bool) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	b, status, err := n.peerCall(ctx, http.MethodGet, apiAddr, "/v2/status?members=false", nil)
	if err != nil || status != http.StatusOK {
		return 0, "", false
	}
	var s struct {
		Raft struct {
			AppliedIndex uint64 `json:"applied_index"`
			State        string `json:"state"`
		} `json:"raft"`
	}
	if json.Unmarshal(b, &s) != nil {
		return 0, "", false
	}
	return s.Raft.AppliedIndex, s.Raft.State, true
}
