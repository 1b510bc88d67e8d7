package raftnode

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/mahou-go/mahou/kv"
)

// applyTimeout bounds how long a proposal may wait to enter raft's queue.
const applyTimeout = 10 * time.Second

// Propose implements kv.Store. Only the leader proposes; it stamps the time.
func (n *Node) Propose(ctx context.Context, cmd kv.Command) (kv.Result, error) {
	if !n.isMember() {
		return kv.Result{}, n.notMember()
	}
	if err := n.awaitLeader(ctx); err != nil {
		return kv.Result{}, err
	}
	if n.raft.State() != raft.Leader {
		return n.forwardPropose(ctx, cmd)
	}
	data, err := encodeProposal(kv.Proposal{Time: time.Now(), Cmd: cmd})
	if err != nil {
		return kv.Result{}, err
	}
	start := time.Now()
	f := n.raft.Apply(data, applyTimeout)
	if err := waitFuture(ctx, f); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
			return kv.Result{}, n.notLeader()
		}
		if errors.Is(err, raft.ErrRaftShutdown) || errors.Is(err, raft.ErrEnqueueTimeout) {
			return kv.Result{}, fmt.Errorf("propose: %w: %v", kv.ErrUnavailable, err)
		}
		return kv.Result{}, fmt.Errorf("propose: %w", err)
	}
	if n.metrics != nil {
		n.metrics.propose.Observe(time.Since(start).Seconds())
	}
	return resultOf(f.Response())
}

// waitFuture waits for a raft future, or for ctx. A write whose context ends first may still
// commit: the caller learns the outcome is unknown, as with etcd.
func waitFuture(ctx context.Context, f raft.Future) error {
	if ctx.Done() == nil {
		return f.Error()
	}
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("wait for raft: %w", ctx.Err())
	}
}

// leaderWait bounds how long a request waits for an election in progress.
const leaderWait = 3 * time.Second

// awaitLeader waits, briefly, while no leader is known (a node starting up, or an election),
// so that requests arriving then are served instead of refused.
func (n *Node) awaitLeader(ctx context.Context) error {
	if addr, _ := n.raft.LeaderWithID(); addr != "" {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, leaderWait)
	defer cancel()
	if err := n.WaitLeader(wctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return n.notLeader()
	}
	return nil
}

func (n *Node) notLeader() error {
	addr, id := n.raft.LeaderWithID()
	return &kv.NotLeaderError{LeaderID: string(id), LeaderAddr: string(addr)}
}

// Linearize implements kv.Store: it confirms this node is still the leader with a quorum (one
// check shared by every caller waiting at the time, as etcd batches read-index requests), then
// waits until the state machine has applied everything committed before the check.
func (n *Node) Linearize(ctx context.Context) error {
	if !n.isMember() {
		return n.notMember()
	}
	if err := n.awaitLeader(ctx); err != nil {
		return err
	}
	ch := make(chan error, 1)
	n.readMu.Lock()
	n.readWaiters = append(n.readWaiters, ch)
	if !n.readRunning {
		n.readRunning = true
		n.wg.Add(1)
		go n.readLoop()
	}
	n.readMu.Unlock()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return fmt.Errorf("linearize read: %w", ctx.Err())
	}
}

// readLoop serves leadership checks while callers wait; callers that arrive during a check wait
// for the next one, since that check may predate their call.
func (n *Node) readLoop() {
	defer n.wg.Done()
	for {
		n.readMu.Lock()
		batch := n.readWaiters
		n.readWaiters = nil
		if len(batch) == 0 {
			n.readRunning = false
			n.readMu.Unlock()
			return
		}
		n.readMu.Unlock()
		err := n.readIndex()
		for _, ch := range batch {
			ch <- err
		}
	}
}

// readTimeout bounds one leadership check, local or at the leader.
const readTimeout = 5 * time.Second

func (n *Node) readIndex() error {
	commit, err := n.commitIndex()
	if err != nil {
		return err
	}
	return n.waitApplied(commit)
}

// waitApplied waits until the state machine has applied every entry up to index. Raft's own
// applied index moves when entries are handed to the FSM, before they are applied, so the
// state machine's stored index is the one that counts; entries that never reach the FSM (a new
// leader's no-op, barriers) are recognised in the log and skipped. Entries applied but still
// in the state machine's open group commit are committed now rather than at its interval, so
// a read waits for one commit at most, and writes alone share long ones.
func (n *Node) waitApplied(index uint64) error {
	t := time.NewTimer(time.Millisecond)
	defer t.Stop()
	done := func(applied uint64) bool {
		return applied >= index || n.raft.AppliedIndex() >= index && n.onlyNonFSM(applied+1, index)
	}
	for {
		ch := n.store.Changed()
		applied := n.store.AppliedIndex()
		if done(applied) {
			return nil
		}
		if n.store.PendingApplied() > applied {
			if err := n.store.Flush(); err != nil {
				return fmt.Errorf("linearize read: %w", err)
			}
			if done(n.store.AppliedIndex()) {
				return nil
			}
		}
		t.Reset(time.Millisecond)
		select {
		case <-ch:
		case <-t.C:
		case <-n.stop:
			return fmt.Errorf("linearize read: %w", kv.ErrUnavailable)
		}
	}
}

// onlyNonFSM reports whether the log entries lo..hi are all of kinds the FSM never sees.
func (n *Node) onlyNonFSM(lo, hi uint64) bool {
	var l raft.Log
	for i := lo; i <= hi; i++ {
		if err := n.logs.GetLog(i, &l); err != nil {
			// gone from the log: it is below the last snapshot, so it was applied
			continue
		}
		if l.Type == raft.LogCommand || l.Type == raft.LogConfiguration {
			return false
		}
	}
	return true
}

// commitIndex returns a commit index covering every write acknowledged before the call: the
// leader's own after it confirmed its leadership with a quorum, or, on a follower, the leader's
// (the read-index protocol, so followers serve linearizable reads locally).
func (n *Node) commitIndex() (uint64, error) {
	if n.raft.State() == raft.Leader {
		if err := n.raft.VerifyLeader().Error(); err != nil {
			if errors.Is(err, raft.ErrRaftShutdown) {
				return 0, fmt.Errorf("linearize read: %w", kv.ErrUnavailable)
			}
			return 0, n.notLeader()
		}
		return n.raft.CommitIndex(), nil
	}
	if !n.isMember() {
		return 0, n.notMember()
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.forwardWait()+readTimeout)
	defer cancel()
	go func() {
		select {
		case <-n.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return n.remoteReadIndex(ctx)
}

func (n *Node) notMember() error {
	return fmt.Errorf("%w: it was removed, or has not joined yet: add it with 'crush member add', or start it with --join", kv.ErrNotMember)
}

// retentionLoop has the leader apply the retention policy periodically.
func (n *Node) retentionLoop() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.RetentionInterval)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		if n.raft.State() != raft.Leader {
			continue
		}
		st, err := n.store.Status()
		if err != nil || (st.Retention.KeepRevs == 0 && st.Retention.KeepDuration == 0) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if _, err := n.Propose(ctx, kv.ApplyRetention{}); err != nil {
			n.log.Warn("apply retention policy", "err", err)
		}
		cancel()
	}
}

// The read side of kv.Store is the local state machine's.

// Get implements kv.Reader.
func (n *Node) Get(fork, key string, at kv.At) (kv.Record, error) { return n.store.Get(fork, key, at) }

// Values implements kv.Reader.
func (n *Node) Values(fork, key string, lo, hi uint64) ([][]byte, error) {
	return n.store.Values(fork, key, lo, hi)
}

// History implements kv.Reader.
func (n *Node) History(fork, key string, beforeRev uint64, limit int) ([]kv.HistoryEntry, bool, error) {
	return n.store.History(fork, key, beforeRev, limit)
}

// Keys implements kv.Reader.
func (n *Node) Keys(q kv.KeysQuery) (kv.KeysPage, error) { return n.store.Keys(q) }

// Forks implements kv.Reader.
func (n *Node) Forks() ([]kv.ForkInfo, error) { return n.store.Forks() }

// Events implements kv.Reader.
func (n *Node) Events(from int64, limit int, match func(fork, key string) bool) ([]kv.Event, int64, error) {
	return n.store.Events(from, limit, match)
}

// Status implements kv.Reader.
func (n *Node) Status() (kv.Status, error) { return n.store.Status() }

// Revision implements kv.Reader.
func (n *Node) Revision() int64 { return n.store.Revision() }

// Changed implements kv.Store.
func (n *Node) Changed() <-chan struct{} { return n.store.Changed() }
