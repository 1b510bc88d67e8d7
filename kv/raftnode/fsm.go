package raftnode

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/hashicorp/raft"

	"github.com/mahou-go/mahou/kv"
	"github.com/mahou-go/mahou/kv/boltstore"
)

// fsm adapts boltstore.Store to raft.BatchingFSM.
type fsm struct {
	store *boltstore.Store
	log   *slog.Logger
	// onBatch observes the size of every applied batch (metrics); it may be nil.
	onBatch func(n int)
}

var _ raft.BatchingFSM = (*fsm)(nil)

// ApplyBatch implements raft.BatchingFSM.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	batch := make([]boltstore.Applied, len(logs))
	for i, l := range logs {
		batch[i].Index = l.Index
		if l.Type != raft.LogCommand {
			continue
		}
		p, err := decodeProposal(l.Data)
		if err != nil {
			// Every replica fails the same way on the same entry, so skipping it keeps them
			// equal; the proposer sees the error.
			f.log.Error("skipping undecodable log entry", "index", l.Index, "err", err)
			continue
		}
		batch[i].Proposal = &p
	}
	results := f.store.Apply(batch)
	if f.onBatch != nil {
		f.onBatch(len(logs))
	}
	out := make([]any, len(results))
	for i := range results {
		if batch[i].Proposal == nil && logs[i].Type == raft.LogCommand {
			out[i] = fmt.Errorf("apply index %d: %w", logs[i].Index, errBadCommand)
			continue
		}
		out[i] = results[i]
	}
	return out
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// Snapshot implements raft.FSM. The bbolt read transaction is opened here, on the FSM
// goroutine, so the snapshot holds exactly the state at the index raft records for it.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	sn, err := f.store.BeginSnapshot()
	if err != nil {
		return nil, err
	}
	return &fsmSnapshot{sn: sn}, nil
}

// Restore implements raft.FSM.
func (f *fsm) Restore(r io.ReadCloser) error {
	defer r.Close()
	return f.store.Restore(r)
}

type fsmSnapshot struct {
	sn *boltstore.Snapshot
}

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.sn.WriteTo(sink); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() { s.sn.Close() }

// resultOf turns an apply future's response into a kv.Result.
func resultOf(resp any) (kv.Result, error) {
	switch r := resp.(type) {
	case kv.Result:
		return r, nil
	case error:
		return kv.Result{}, r
	}
	return kv.Result{}, fmt.Errorf("apply: unexpected response %T", resp)
}
