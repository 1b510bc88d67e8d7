package raftqueue

import (
	"fmt"
	"io"

	"github.com/hashicorp/raft"

	"github.com/mahou-go/mahou/bus/queue"
)

// fsm hands raft's committed entries to the broker.
type fsm struct{ b *queue.Broker }

var _ raft.BatchingFSM = (*fsm)(nil)

// ApplyBatch implements raft.BatchingFSM. Configuration entries are passed with no data, so
// that the store records their index too.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	entries := make([]queue.LogEntry, len(logs))
	for i, l := range logs {
		entries[i].Index = l.Index
		if l.Type == raft.LogCommand {
			entries[i].Data = l.Data
		}
	}
	err := f.b.ApplyLog(entries)
	out := make([]any, len(logs))
	for i := range out {
		if err != nil {
			out[i] = err
		}
	}
	return out
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// Snapshot implements raft.FSM: a bbolt read transaction, opened on raft's apply goroutine so
// that it holds exactly the state at the index raft records for it.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	sn, err := f.b.Snapshot()
	if err != nil {
		return nil, err
	}
	return &snapshot{sn: sn}, nil
}

// Restore implements raft.FSM.
func (f *fsm) Restore(r io.ReadCloser) error {
	defer r.Close()
	return f.b.RestoreSnapshot(r)
}

type snapshot struct{ sn queue.Snapshot }

// Persist implements raft.FSMSnapshot.
func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.sn.WriteTo(sink); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist queue snapshot: %w", err)
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *snapshot) Release() { _ = s.sn.Close() }
