package boltstore_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mahou-go/mahou/kv"
)

func TestStore_Compact(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 10; i++ {
		h.put("default", "k", fmt.Sprintf("value number %d of a key that changes a little", i))
	}
	h.put("default", "gone", "x")
	h.ok(kv.Delete{Fork: "default", Key: "gone"})
	at := h.s.Revision() - 5 // revision 7: k is at rev 6 there
	h.ok(kv.Compact{Revision: at})
	h.wantErr("default", "k", kv.AtRevision(at-1), kv.ErrCompacted)
	h.wantErr("default", "k", kv.AtRev(5), kv.ErrCompacted)
	for rev := 6; rev < 10; rev++ {
		h.wantValue("default", "k", kv.AtRev(uint64(rev)), fmt.Sprintf("value number %d of a key that changes a little", rev))
	}
	h.wantValue("default", "k", kv.AtRevision(at), "value number 6 of a key that changes a little")
	if _, _, err := h.s.Events(at-1, 0, nil); !errors.Is(err, kv.ErrCompacted) {
		t.Fatalf("events below the compaction point: %v", err)
	}
	if st, _ := h.s.Status(); st.CompactedRevision != at {
		t.Fatalf("compacted revision %d, want %d", st.CompactedRevision, at)
	}
	// compacting again lower is a no-op, higher than now is refused
	h.ok(kv.Compact{Revision: 1})
	if r := h.do(kv.Compact{Revision: 999}); !errors.Is(r.Err, kv.ErrFutureRevision) {
		t.Fatalf("compact in the future: %v", r.Err)
	}
	h.ok(kv.Compact{Revision: h.s.Revision()})
	h.wantErr("default", "gone", kv.At{}, kv.ErrNotFound)
	hist, _, _ := h.s.History("default", "k", 0, 100)
	if len(hist) != 1 {
		t.Fatalf("history after full compaction has %d revs, want 1", len(hist))
	}
}

// A fork point is never compacted away while the fork lives, and merges keep their base.
func TestStore_CompactKeepsForkPoints(t *testing.T) {
	h := newHarness(t)
	h.put("default", "k", "v0")
	h.put("default", "k", "v1")
	h.ok(kv.Fork{From: "default", To: "f", Key: "k"})
	for i := 2; i < 8; i++ {
		h.put("default", "k", fmt.Sprintf("v%d", i))
	}
	h.put("f", "k", "f1")
	h.ok(kv.Compact{Revision: h.s.Revision()})
	h.wantValue("f", "k", kv.AtRev(1), "v1")
	h.wantValue("default", "k", kv.AtRev(1), "v1")
	h.wantErr("default", "k", kv.AtRev(0), kv.ErrCompacted)
	// the merge base survived: default changed and f changed, so this is a conflict
	if r := h.do(kv.Merge{From: "f", To: "default", Key: "k", Strategy: kv.MergeThreeWay}); !errors.Is(r.Err, kv.ErrConflict) {
		t.Fatalf("merge after compaction: %v, want conflict", r.Err)
	}
	h.ok(kv.Delete{Fork: "f", Key: "k", Purge: true})
	h.ok(kv.Compact{Revision: h.s.Revision()})
	hist, _, _ := h.s.History("default", "k", 0, 100)
	if len(hist) != 1 {
		t.Fatalf("default history after the fork is gone: %d revs, want 1", len(hist))
	}
}

func TestStore_RetentionKeepRevs(t *testing.T) {
	h := newHarness(t)
	h.ok(kv.SetRetention{Policy: kv.Retention{KeepRevs: 3}})
	for i := 0; i < 10; i++ {
		h.put("default", "k", fmt.Sprintf("v%d", i))
	}
	h.ok(kv.ApplyRetention{})
	hist, _, _ := h.s.History("default", "k", 0, 100)
	if len(hist) != 3 || hist[2].Rev != 7 {
		t.Fatalf("history after keep-3: %+v", hist)
	}
	h.wantValue("default", "k", kv.AtRev(7), "v7")
	h.wantErr("default", "k", kv.AtRev(6), kv.ErrCompacted)
	if st, _ := h.s.Status(); st.Retention.KeepRevs != 3 {
		t.Fatalf("retention %+v", st.Retention)
	}
	if r := h.do(kv.SetRetention{Policy: kv.Retention{KeepRevs: -1}}); !errors.Is(r.Err, kv.ErrInvalidArgument) {
		t.Fatalf("negative retention: %v", r.Err)
	}
}

func TestStore_RetentionKeepDuration(t *testing.T) {
	h := newHarness(t)
	h.ok(kv.SetRetention{Policy: kv.Retention{KeepDuration: 10 * time.Second}})
	for i := 0; i < 30; i++ {
		h.put("default", "k", fmt.Sprintf("v%d", i)) // one second apart
	}
	h.ok(kv.ApplyRetention{})
	st, _ := h.s.Status()
	if st.CompactedRevision < 15 || st.CompactedRevision > 25 {
		t.Fatalf("compacted to %d, want about 10 seconds back from revision %d", st.CompactedRevision, st.Revision)
	}
}

func TestStore_Txn(t *testing.T) {
	h := newHarness(t)
	h.put("default", "lock", "free")
	r := h.ok(kv.Txn{
		Compare: []kv.Compare{{Fork: "default", Key: "lock", Target: kv.CompareValue, Op: kv.CmpEqual, Value: []byte("free")}},
		Then: []kv.TxnOp{
			{Type: kv.TxnPut, Fork: "default", Key: "lock", Value: []byte("held")},
			{Type: kv.TxnPut, Fork: "default", Key: "owner", Value: []byte("me")},
			{Type: kv.TxnGet, Fork: "default", Key: "owner"},
		},
		Else: []kv.TxnOp{{Type: kv.TxnGet, Fork: "default", Key: "lock"}},
	})
	if !r.Txn.Succeeded || len(r.Txn.Responses) != 3 || r.Revision != 2 {
		t.Fatalf("txn %+v revision %d", r.Txn, r.Revision)
	}
	if got := r.Txn.Responses[2]; !got.Found || string(got.Record.Value) != "me" || got.Record.Time.IsZero() {
		t.Fatalf("get inside txn: %+v", got)
	}
	r = h.ok(kv.Txn{
		Compare: []kv.Compare{{Fork: "default", Key: "lock", Target: kv.CompareValue, Op: kv.CmpEqual, Value: []byte("free")}},
		Then:    []kv.TxnOp{{Type: kv.TxnPut, Fork: "default", Key: "lock", Value: []byte("stolen")}},
		Else:    []kv.TxnOp{{Type: kv.TxnGet, Fork: "default", Key: "lock"}},
	})
	if r.Txn.Succeeded || string(r.Txn.Responses[0].Record.Value) != "held" || r.Revision != 2 {
		t.Fatalf("failed txn %+v revision %d", r.Txn, r.Revision)
	}
	cmps := []struct {
		c    kv.Compare
		want bool
	}{
		{kv.Compare{Key: "lock", Target: kv.CompareRev, Op: kv.CmpEqual, Number: 1}, true},
		{kv.Compare{Key: "lock", Target: kv.CompareModRevision, Op: kv.CmpGreater, Number: 1}, true},
		{kv.Compare{Key: "lock", Target: kv.CompareCreatedRevision, Op: kv.CmpLess, Number: 2}, true},
		{kv.Compare{Key: "nope", Target: kv.CompareExists, Op: kv.CmpEqual, Exists: false}, true},
		{kv.Compare{Key: "nope", Target: kv.CompareRev, Op: kv.CmpLess, Number: 0}, true},
		{kv.Compare{Key: "nope", Target: kv.CompareValue, Op: kv.CmpEqual, Value: nil}, false},
	}
	for _, c := range cmps {
		c.c.Fork = "default"
		r := h.ok(kv.Txn{Compare: []kv.Compare{c.c}})
		if r.Txn.Succeeded != c.want {
			t.Errorf("compare %+v = %v, want %v", c.c, r.Txn.Succeeded, c.want)
		}
	}
	dup := kv.Txn{Then: []kv.TxnOp{{Type: kv.TxnPut, Fork: "default", Key: "a"}, {Type: kv.TxnDelete, Fork: "default", Key: "a"}}}
	if r := h.do(dup); !errors.Is(r.Err, kv.ErrInvalidArgument) {
		t.Fatalf("duplicate key in txn: %v", r.Err)
	}
}
