package boltstore_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/mahou-go/mahou/kv"
	"github.com/mahou-go/mahou/kv/boltstore"
)

// harness drives a Store the way raft does: one command at a time with increasing indexes.
type harness struct {
	t     testing.TB
	s     *boltstore.Store
	path  string
	index uint64
	clock time.Time
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{t: t, path: filepath.Join(t.TempDir(), "state.db"), clock: time.Unix(1_700_000_000, 0)}
	h.open()
	t.Cleanup(func() {
		if err := h.s.Check(); err != nil {
			t.Errorf("invariants: %v", err)
		}
		h.s.Close()
	})
	return h
}

func (h *harness) open() {
	h.t.Helper()
	h.s = boltstore.New(boltstore.Config{Path: h.path})
	if err := h.s.Open(); err != nil {
		h.t.Fatalf("Open: %v", err)
	}
	h.index = h.s.AppliedIndex()
}

// do applies one command and returns its result.
func (h *harness) do(cmd kv.Command) kv.Result {
	h.t.Helper()
	h.index++
	h.clock = h.clock.Add(time.Second)
	p := kv.Proposal{Time: h.clock, Cmd: cmd}
	return h.s.Apply([]boltstore.Applied{{Index: h.index, Proposal: &p}})[0]
}

// ok applies a command that must succeed.
func (h *harness) ok(cmd kv.Command) kv.Result {
	h.t.Helper()
	r := h.do(cmd)
	if r.Err != nil {
		h.t.Fatalf("%T: %v", cmd, r.Err)
	}
	return r
}

func (h *harness) put(fork, key, val string) kv.Result {
	h.t.Helper()
	return h.ok(kv.Put{Fork: fork, Key: key, Value: []byte(val)})
}

func (h *harness) get(fork, key string, at kv.At) kv.Record {
	h.t.Helper()
	rec, err := h.s.Get(fork, key, at)
	if err != nil {
		h.t.Fatalf("Get(%s/%s, %+v): %v", fork, key, at, err)
	}
	return rec
}

func (h *harness) wantValue(fork, key string, at kv.At, want string) {
	h.t.Helper()
	rec := h.get(fork, key, at)
	if rec.Deleted {
		h.t.Fatalf("Get(%s/%s, %+v): deleted, want %q", fork, key, at, want)
	}
	if !bytes.Equal(rec.Value, []byte(want)) {
		h.t.Fatalf("Get(%s/%s, %+v) = %q, want %q", fork, key, at, rec.Value, want)
	}
}

func (h *harness) wantErr(fork, key string, at kv.At, target error) {
	h.t.Helper()
	_, err := h.s.Get(fork, key, at)
	if !errors.Is(err, target) {
		h.t.Fatalf("Get(%s/%s, %+v): got error %v, want %v", fork, key, at, err, target)
	}
}
