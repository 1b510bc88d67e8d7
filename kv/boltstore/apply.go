package boltstore

import (
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mahou-go/mahou/kv"
)

// Applied is one replicated log entry handed to Apply.
type Applied struct {
	// Index is the raft log index; entries at or below the stored applied index are skipped,
	// so replaying the log after a restart is harmless.
	Index uint64
	// Proposal is nil for entries that carry no command (membership changes).
	Proposal *kv.Proposal
}

// Apply applies a batch of log entries and returns one result per entry. The entries join the
// open write transaction, which is committed (fsynced, with the last applied index) at once
// when Config.CommitInterval is 0, and otherwise once it is that old or holds
// Config.CommitEntries entries: many batches share one commit. Readers see only committed
// state, and AppliedIndex and Changed move at each commit; a crash loses only what the raft log
// replays, since the stored applied index travels with the data.
func (s *Store) Apply(batch []Applied) []kv.Result {
	results := make([]kv.Result, len(batch))
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		// Applying to a closed store would lose the command on this replica.
		panic("boltstore: apply after close")
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	a := s.pendingTx()
	for i, en := range batch {
		if en.Index != 0 && en.Index <= a.applied {
			results[i] = kv.Result{Revision: a.revision}
			continue
		}
		if en.Index != 0 {
			a.applied = en.Index
		}
		if en.Proposal == nil {
			results[i] = kv.Result{Revision: a.revision}
			continue
		}
		results[i] = a.apply(*en.Proposal)
	}
	s.pendingN += len(batch)
	s.pendingApplied.Store(a.applied)
	if s.cfg.CommitInterval <= 0 || s.pendingN >= s.cfg.CommitEntries || time.Since(s.pendingSince) >= s.cfg.CommitInterval {
		s.commitLocked()
	}
	return results
}

// pendingTx returns the open write transaction, beginning one if needed. Callers hold mu
// (shared) and writeMu.
func (s *Store) pendingTx() *applyTx {
	if s.pending != nil {
		return s.pending
	}
	tx, err := s.db.Begin(true)
	if err != nil {
		// see commitLocked
		panic(fmt.Sprintf("boltstore: begin apply: %v", err))
	}
	s.pending, s.pendingN, s.pendingSince = newApplyTx(tx, s), 0, time.Now()
	if s.cfg.CommitInterval > 0 {
		s.flushTimer = time.AfterFunc(s.cfg.CommitInterval, func() { _ = s.Flush() })
	}
	return s.pending
}

// commitLocked commits the open write transaction and publishes its counters. Callers hold
// mu (shared) and writeMu.
func (s *Store) commitLocked() {
	a := s.pending
	if a == nil {
		return
	}
	s.pending = nil
	if s.flushTimer != nil {
		s.flushTimer.Stop()
		s.flushTimer = nil
	}
	before, beforeApplied := s.revision.Load(), s.applied.Load()
	err := a.saveCounters()
	if err == nil {
		err = a.tx.Commit()
	}
	if err != nil {
		// The commands are committed in the raft log; a replica that cannot store them must stop
		// rather than diverge. A restart replays the log from the stored applied index.
		panic(fmt.Sprintf("boltstore: commit applied batch: %v", err))
	}
	s.revision.Store(a.revision)
	s.compacted.Store(a.compacted)
	s.applied.Store(a.applied)
	s.lastTime = a.lastTime
	if a.revision != before || a.touched || a.applied != beforeApplied {
		s.notify()
	}
}

// Flush commits what Apply left uncommitted. Snapshots and Close flush first; the commit
// timer calls it too.
func (s *Store) Flush() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.commitLocked()
	return nil
}

// applyTx is the state of one Apply transaction.
type applyTx struct {
	// view holds the revision and compacted counters, advanced as commands apply.
	*view
	applied  uint64
	lastTime int64
	// touched is set when state changed without a new revision (compaction).
	touched bool

	// per command
	now        int64
	events     []event
	liveDelta  map[string]int64
	forkPoints map[string][]kv.ForkPoint
}

func newApplyTx(tx *bolt.Tx, s *Store) *applyTx {
	v := newView(tx, s)
	// history and revisions are appended in key order far more than inserted in the middle
	v.hist.FillPercent = 1.0
	v.revs.FillPercent = 1.0
	return &applyTx{view: v, applied: s.applied.Load(), lastTime: s.lastTime}
}

// next is the revision the current command writes at.
func (a *applyTx) next() int64 { return a.revision + 1 }

func (a *applyTx) apply(p kv.Proposal) kv.Result {
	a.now = max(p.Time.UnixNano(), a.lastTime)
	a.events = a.events[:0]
	a.liveDelta = nil
	a.forkPoints = nil
	res, err := a.dispatch(p.Cmd)
	if err != nil {
		// Internal errors (corruption, I/O) leave the transaction half-written.
		panic(fmt.Sprintf("boltstore: apply %T: %v", p.Cmd, err))
	}
	if res.Err == nil && len(a.events) > 0 {
		if err := a.commitRevision(); err != nil {
			panic(fmt.Sprintf("boltstore: commit revision: %v", err))
		}
	}
	res.Revision, res.CompactedRevision = a.revision, a.compacted
	return res
}

// dispatch runs one command. A domain failure is returned in Result.Err with nothing written;
// the error return is for internal failures only.
func (a *applyTx) dispatch(cmd kv.Command) (kv.Result, error) {
	switch c := cmd.(type) {
	case kv.Put:
		return a.put(c)
	case kv.Delete:
		return a.delete(c)
	case kv.Revert:
		return a.revert(c)
	case kv.Fork:
		return a.fork(c)
	case kv.Merge:
		return a.merge(c)
	case kv.Txn:
		return a.txn(c)
	case kv.Compact:
		return a.compact(c)
	case kv.SetRetention:
		return a.setRetention(c)
	case kv.ApplyRetention:
		return a.applyRetention()
	case kv.SetMember:
		return a.setMember(c)
	case kv.RemoveMember:
		return a.removeMember(c)
	}
	return kv.Result{Err: kv.Invalid("unknown_command", "unknown command %T: upgrade this node", cmd)}, nil
}

// commitRevision writes the revision record of the current command and advances the revision.
func (a *applyTx) commitRevision() error {
	r := a.next()
	rec := revRecord{Time: a.now, Events: slices.Clone(a.events)}
	if err := a.revs.Put(revKey(r), rec.encode()); err != nil {
		return err
	}
	forks := make([]string, 0, len(a.liveDelta)+len(a.forkPoints))
	for f := range a.liveDelta {
		forks = append(forks, f)
	}
	for f := range a.forkPoints {
		forks = append(forks, f)
	}
	slices.Sort(forks)
	for _, f := range slices.Compact(forks) {
		fr, err := a.loadFork(f)
		if err != nil {
			return err
		}
		if fr == nil {
			fr = &forkRecord{CreatedRevision: r}
		}
		fr.LiveKeys = uint64(int64(fr.LiveKeys) + a.liveDelta[f])
		fr.Points = append(fr.Points, a.forkPoints[f]...)
		if err := a.forks.Put([]byte(f), fr.encode()); err != nil {
			return err
		}
	}
	a.revision = r
	a.lastTime = a.now
	return nil
}

func (a *applyTx) saveCounters() error {
	for k, v := range map[string]uint64{
		string(metaApplied):   a.applied,
		string(metaRevision):  uint64(a.revision),
		string(metaCompacted): uint64(a.compacted),
		string(metaLastTime):  uint64(a.lastTime),
	} {
		if err := a.meta.Put([]byte(k), u64(v)); err != nil {
			return err
		}
	}
	return nil
}

func (a *applyTx) putMeta(fork, key string, m *keyMeta) error {
	return a.keys.Put(keysKey(fork, key), m.encode())
}

func (a *applyTx) putEntry(fork, key string, rev uint64, e *entry) error {
	return a.hist.Put(histKey(fork, key, rev), e.encode())
}

// live records a change of liveness of a key in a fork.
func (a *applyTx) live(fork string, delta int64) {
	if a.liveDelta == nil {
		a.liveDelta = make(map[string]int64)
	}
	a.liveDelta[fork] += delta
}

func (a *applyTx) emit(e event) {
	a.events = append(a.events, e)
}
