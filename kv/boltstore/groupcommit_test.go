package boltstore_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/mahou-go/mahou/kv"
	"github.com/mahou-go/mahou/kv/boltstore"
)

func openGroup(t *testing.T, cfg boltstore.Config) *boltstore.Store {
	t.Helper()
	cfg.Path = filepath.Join(t.TempDir(), "state.db")
	s := boltstore.New(cfg)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(s *boltstore.Store, index uint64, key string) kv.Result {
	p := kv.Proposal{Time: time.Now(), Cmd: kv.Put{Fork: "default", Key: key, Value: []byte("v")}}
	return s.Apply([]boltstore.Applied{{Index: index, Proposal: &p}})[0]
}

// Batches share one commit: results come back at once, readers see the writes (and the applied
// index moves) only when the group commits.
func TestStore_GroupCommit(t *testing.T) {
	s := openGroup(t, boltstore.Config{CommitInterval: time.Hour, CommitEntries: 3})
	changed := s.Changed()
	if r := put(s, 1, "a"); r.Err != nil || r.Revision != 1 {
		t.Fatalf("first apply: %+v", r)
	}
	if r := put(s, 2, "b"); r.Revision != 2 {
		t.Fatalf("second apply sees the first: revision %d, want 2", r.Revision)
	}
	if _, err := s.Get("default", "a", kv.At{}); err == nil || s.AppliedIndex() != 0 || s.Revision() != 0 {
		t.Fatalf("uncommitted write visible: applied %d, revision %d, %v", s.AppliedIndex(), s.Revision(), err)
	}
	select {
	case <-changed:
		t.Fatal("Changed closed before the commit")
	default:
	}
	put(s, 3, "c") // the third entry fills the group
	if s.AppliedIndex() != 3 || s.Revision() != 3 {
		t.Fatalf("after the group: applied %d, revision %d", s.AppliedIndex(), s.Revision())
	}
	<-changed
	if _, err := s.Get("default", "a", kv.At{}); err != nil {
		t.Fatal(err)
	}
}

// An idle group commits when CommitInterval passes.
func TestStore_GroupCommitTimer(t *testing.T) {
	s := openGroup(t, boltstore.Config{CommitInterval: 20 * time.Millisecond})
	changed := s.Changed()
	put(s, 1, "a")
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("the timer did not commit the group")
	}
	if s.AppliedIndex() != 1 {
		t.Fatalf("applied %d after the timer", s.AppliedIndex())
	}
}

// Close commits what is pending; a snapshot includes it.
func TestStore_GroupCommitCloseAndSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := boltstore.New(boltstore.Config{Path: path, CommitInterval: time.Hour})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	put(s, 1, "a")
	sn, err := s.BeginSnapshot()
	if err != nil || sn.Index != 1 {
		t.Fatalf("snapshot of a pending group: index %v, %v", sn, err)
	}
	sn.Close()
	put(s, 2, "b")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = boltstore.New(boltstore.Config{Path: path})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.AppliedIndex() != 2 {
		t.Fatalf("applied %d after reopening, want 2", s.AppliedIndex())
	}
}
