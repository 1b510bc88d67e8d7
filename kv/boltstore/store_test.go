package boltstore_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mahou-go/mahou/kv"
	"github.com/mahou-go/mahou/kv/boltstore"
)

func TestStore_PutGet(t *testing.T) {
	h := newHarness(t)
	r := h.put("default", "a", "one")
	if r.Rev != 0 || r.Revision != 1 {
		t.Fatalf("first put: rev %d revision %d, want 0 and 1", r.Rev, r.Revision)
	}
	r = h.put("default", "a", "two")
	if r.Rev != 1 || r.Revision != 2 {
		t.Fatalf("second put: rev %d revision %d, want 1 and 2", r.Rev, r.Revision)
	}
	rec := h.get("default", "a", kv.At{})
	if string(rec.Value) != "two" || rec.Rev != 1 || rec.CreatedRevision != 1 || rec.ModRevision != 2 || rec.Op != kv.OpPut {
		t.Fatalf("got %+v", rec)
	}
	h.wantValue("default", "a", kv.AtRev(0), "one")
	h.wantValue("default", "a", kv.AtRevision(1), "one")
	h.wantErr("default", "a", kv.AtRev(2), kv.ErrRevNotFound)
	h.wantErr("default", "a", kv.AtRevision(9), kv.ErrFutureRevision)
	h.wantErr("default", "missing", kv.At{}, kv.ErrNotFound)
	h.wantErr("other", "a", kv.At{}, kv.ErrNotFound)
	h.put("default", "b", "x")
	h.wantErr("default", "b", kv.AtRevision(2), kv.ErrNotFound)
}

func TestStore_EmptyAndBinaryValues(t *testing.T) {
	h := newHarness(t)
	bin := []byte{0, 0xff, 0xfe, 0, 1, 2}
	h.ok(kv.Put{Fork: "default", Key: "k", Value: nil})
	h.ok(kv.Put{Fork: "default", Key: "k", Value: bin})
	h.ok(kv.Put{Fork: "default", Key: "k", Value: []byte{}})
	h.wantValue("default", "k", kv.AtRev(0), "")
	h.wantValue("default", "k", kv.AtRev(1), string(bin))
	h.wantValue("default", "k", kv.AtRev(2), "")
}

// Every rev of a long history of random edits rebuilds exactly, across keyframes.
func TestStore_DeltaHistoryRebuilds(t *testing.T) {
	h := newHarness(t)
	rng := rand.New(rand.NewPCG(7, 8))
	val := make([]byte, 4096)
	for i := range val {
		val[i] = byte(rng.IntN(256))
	}
	var want [][]byte
	for i := 0; i < 400; i++ {
		switch rng.IntN(4) {
		case 0:
			val[rng.IntN(len(val))] ^= byte(1 + rng.IntN(255))
		case 1:
			p := rng.IntN(len(val))
			val = append(val[:p:p], append([]byte("inserted"), val[p:]...)...)
		case 2:
			if len(val) > 100 {
				p := rng.IntN(len(val) - 50)
				val = append(val[:p:p], val[p+20:]...)
			}
		default:
			val = bytes.Clone(val)
		}
		want = append(want, bytes.Clone(val))
		h.ok(kv.Put{Fork: "default", Key: "big", Value: val})
	}
	for rev, w := range want {
		rec := h.get("default", "big", kv.AtRev(uint64(rev)))
		if !bytes.Equal(rec.Value, w) {
			t.Fatalf("rev %d: rebuilt %d bytes, want %d", rev, len(rec.Value), len(w))
		}
	}
	vals, err := h.s.Values("default", "big", 0, uint64(len(want)-1))
	if err != nil {
		t.Fatal(err)
	}
	for rev := range want {
		if !bytes.Equal(vals[rev], want[rev]) {
			t.Fatalf("Values rev %d differs", rev)
		}
	}
}

func TestStore_DeleteTombstone(t *testing.T) {
	h := newHarness(t)
	h.put("default", "k", "v1")
	r := h.ok(kv.Delete{Fork: "default", Key: "k"})
	if r.Rev != 1 {
		t.Fatalf("delete rev %d, want 1", r.Rev)
	}
	rec := h.get("default", "k", kv.At{})
	if !rec.Deleted || rec.Value != nil || rec.Op != kv.OpDelete {
		t.Fatalf("after delete got %+v, want a tombstone", rec)
	}
	h.wantValue("default", "k", kv.AtRev(0), "v1")
	if r := h.do(kv.Delete{Fork: "default", Key: "k"}); !errors.Is(r.Err, kv.ErrNotFound) {
		t.Fatalf("second delete: %v, want not found", r.Err)
	}
	h.put("default", "k", "v2")
	rec = h.get("default", "k", kv.At{})
	if rec.Rev != 2 || rec.CreatedRevision != 3 || string(rec.Value) != "v2" {
		t.Fatalf("re-put: got %+v, want rev 2 created at revision 3", rec)
	}
	page, err := h.s.Keys(kv.KeysQuery{Fork: "default", Revision: 2})
	if err != nil || len(page.Keys) != 0 {
		t.Fatalf("keys at revision 2 = %v, %v; want none (deleted)", page.Keys, err)
	}
}

func TestStore_Preconditions(t *testing.T) {
	h := newHarness(t)
	if r := h.do(kv.Put{Fork: "default", Key: "k", Value: []byte("x"), If: kv.Precondition{HasMatchRev: true}}); !errors.Is(r.Err, kv.ErrPreconditionFailed) {
		t.Fatalf("If-Match on missing key: %v, want precondition failed", r.Err)
	}
	h.ok(kv.Put{Fork: "default", Key: "k", Value: []byte("x"), If: kv.Precondition{MustNotExist: true}})
	r := h.do(kv.Put{Fork: "default", Key: "k", Value: []byte("y"), If: kv.Precondition{MustNotExist: true}})
	var pe *kv.PreconditionError
	if !errors.As(r.Err, &pe) || pe.CurrentRev != 0 || !pe.Exists {
		t.Fatalf("If-None-Match on existing key: %v", r.Err)
	}
	h.ok(kv.Put{Fork: "default", Key: "k", Value: []byte("y"), If: kv.Precondition{HasMatchRev: true, MatchRev: 0}})
	if r := h.do(kv.Put{Fork: "default", Key: "k", Value: []byte("z"), If: kv.Precondition{HasMatchRev: true, MatchRev: 0}}); !errors.As(r.Err, &pe) || pe.CurrentRev != 1 {
		t.Fatalf("stale If-Match: %v", r.Err)
	}
	if got := h.s.Revision(); got != 2 {
		t.Fatalf("failed writes moved the revision to %d, want 2", got)
	}
}

func TestStore_Revert(t *testing.T) {
	h := newHarness(t)
	h.put("default", "k", "good")
	h.put("default", "k", "bad")
	r := h.ok(kv.Revert{Fork: "default", Key: "k", ToRev: 0})
	if r.Rev != 2 {
		t.Fatalf("revert rev %d, want 2", r.Rev)
	}
	rec := h.get("default", "k", kv.At{})
	if string(rec.Value) != "good" || rec.Op != kv.OpRevert {
		t.Fatalf("got %+v", rec)
	}
	h.ok(kv.Delete{Fork: "default", Key: "k"})
	h.ok(kv.Revert{Fork: "default", Key: "k", ToRev: 1})
	h.wantValue("default", "k", kv.At{}, "bad")
	if r := h.do(kv.Revert{Fork: "default", Key: "k", ToRev: 99}); !errors.Is(r.Err, kv.ErrRevNotFound) {
		t.Fatalf("revert to missing rev: %v", r.Err)
	}
}

func TestStore_Purge(t *testing.T) {
	h := newHarness(t)
	h.put("default", "k", "a")
	h.put("default", "k", "b")
	h.ok(kv.Delete{Fork: "default", Key: "k", Purge: true})
	h.wantErr("default", "k", kv.At{}, kv.ErrNotFound)
	if _, _, err := h.s.History("default", "k", 0, 10); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("history after purge: %v", err)
	}
	r := h.put("default", "k", "fresh")
	if r.Rev != 0 {
		t.Fatalf("put after purge: rev %d, want 0", r.Rev)
	}
}

func TestStore_History(t *testing.T) {
	h := newHarness(t)
	for _, v := range []string{"a", "bb", "ccc", "dddd"} {
		h.put("default", "k", v)
	}
	h.ok(kv.Delete{Fork: "default", Key: "k"})
	hist, more, err := h.s.History("default", "k", 0, 3)
	if err != nil || !more || len(hist) != 3 {
		t.Fatalf("History = %v, more %v, %v", hist, more, err)
	}
	if hist[0].Rev != 4 || hist[0].Op != kv.OpDelete || !hist[0].Deleted || hist[1].Size != 4 || hist[2].Rev != 2 {
		t.Fatalf("History = %+v", hist)
	}
	if hist[0].Time.IsZero() || !hist[1].Time.Before(hist[0].Time) {
		t.Fatalf("history times not set or not ordered: %v %v", hist[0].Time, hist[1].Time)
	}
	hist, more, err = h.s.History("default", "k", 2, 10)
	if err != nil || more || len(hist) != 2 || hist[0].Rev != 1 || hist[1].Rev != 0 {
		t.Fatalf("History before rev 2 = %+v, %v, %v", hist, more, err)
	}
}

func TestStore_AsOfTime(t *testing.T) {
	h := newHarness(t)
	h.put("default", "k", "v0") // at clock+1s
	t1 := h.clock
	h.put("default", "k", "v1")
	h.wantValue("default", "k", kv.AtTime(t1), "v0")
	h.wantValue("default", "k", kv.AtTime(t1.Add(500*time.Millisecond)), "v0")
	h.wantValue("default", "k", kv.AtTime(h.clock), "v1")
	h.wantErr("default", "k", kv.AtTime(t1.Add(-time.Hour)), kv.ErrNotFound)
}

func TestStore_TimeNeverGoesBack(t *testing.T) {
	h := newHarness(t)
	h.put("default", "k", "v0")
	first := h.get("default", "k", kv.At{}).Time
	h.index++
	p := kv.Proposal{Time: first.Add(-time.Hour), Cmd: kv.Put{Fork: "default", Key: "k", Value: []byte("v1")}}
	h.s.Apply([]boltstore.Applied{{Index: h.index, Proposal: &p}})
	if got := h.get("default", "k", kv.At{}).Time; got.Before(first) {
		t.Fatalf("revision time went back: %v before %v", got, first)
	}
}

func TestStore_ReplaySkipsApplied(t *testing.T) {
	h := newHarness(t)
	h.put("default", "k", "v0")
	p := kv.Proposal{Time: h.clock, Cmd: kv.Put{Fork: "default", Key: "k", Value: []byte("again")}}
	h.s.Apply([]boltstore.Applied{{Index: h.index, Proposal: &p}})
	h.wantValue("default", "k", kv.At{}, "v0")
	if h.s.Revision() != 1 {
		t.Fatalf("replayed entry applied: revision %d", h.s.Revision())
	}
}

func TestStore_ReopenKeepsState(t *testing.T) {
	h := newHarness(t)
	h.put("default", "k", "v0")
	h.put("default", "k", "v1")
	h.s.Close()
	h.open()
	if h.s.Revision() != 2 || h.s.AppliedIndex() != 2 {
		t.Fatalf("after reopen: revision %d applied %d", h.s.Revision(), h.s.AppliedIndex())
	}
	h.wantValue("default", "k", kv.AtRev(0), "v0")
}

func TestStore_SnapshotRestore(t *testing.T) {
	h := newHarness(t)
	h.put("default", "k", "v0")
	h.put("default", "k", "v1")
	var buf bytes.Buffer
	if err := h.s.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	h.put("default", "k", "v2")
	h.put("default", "other", "x")
	if err := h.s.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	h.index = h.s.AppliedIndex()
	if h.s.Revision() != 2 {
		t.Fatalf("revision after restore %d, want 2", h.s.Revision())
	}
	h.wantValue("default", "k", kv.At{}, "v1")
	h.wantErr("default", "other", kv.At{}, kv.ErrNotFound)
	if err := h.s.Restore(bytes.NewReader([]byte("not a database"))); err == nil {
		t.Fatal("restoring garbage succeeded")
	}
	h.wantValue("default", "k", kv.At{}, "v1")
}

func TestStore_Events(t *testing.T) {
	h := newHarness(t)
	h.put("default", "a", "1")
	h.put("default", "b", "2")
	h.ok(kv.Delete{Fork: "default", Key: "a"})
	evs, next, err := h.s.Events(1, 0, nil)
	if err != nil || len(evs) != 3 || next != 4 {
		t.Fatalf("Events = %+v, %d, %v", evs, next, err)
	}
	if evs[0].Key != "a" || string(evs[0].Value) != "1" || evs[2].Type != kv.OpDelete || !evs[2].Deleted {
		t.Fatalf("Events = %+v", evs)
	}
	evs, _, _ = h.s.Events(2, 0, func(fork, key string) bool { return key == "a" })
	if len(evs) != 1 || evs[0].Revision != 3 {
		t.Fatalf("filtered Events = %+v", evs)
	}
	select {
	case <-h.s.Changed():
		t.Fatal("Changed closed with no new write")
	default:
	}
	ch := h.s.Changed()
	h.put("default", "c", "3")
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("Changed not closed after a write")
	}
}

func TestStore_KeysPaging(t *testing.T) {
	h := newHarness(t)
	for _, k := range []string{"app/b", "app/a", "app/c", "other", "app/d"} {
		h.put("default", k, "v")
	}
	h.put("f2", "app/zz", "v")
	page, err := h.s.Keys(kv.KeysQuery{Fork: "default", Prefix: "app/", Limit: 2})
	if err != nil || !page.More || len(page.Keys) != 2 || page.Keys[0] != "app/a" || page.Keys[1] != "app/b" {
		t.Fatalf("page 1 = %+v, %v", page, err)
	}
	page, err = h.s.Keys(kv.KeysQuery{Fork: "default", Prefix: "app/", After: "app/b", Limit: 2})
	if err != nil || page.More || len(page.Keys) != 2 || page.Keys[0] != "app/c" || page.Keys[1] != "app/d" {
		t.Fatalf("page 2 = %+v, %v", page, err)
	}
	page, _ = h.s.Keys(kv.KeysQuery{Fork: "default", Prefix: "app/", Revision: 2})
	if len(page.Keys) != 2 {
		t.Fatalf("keys at revision 2 = %v, want app/a and app/b", page.Keys)
	}
	st, err := h.s.Status()
	if err != nil || st.Keys != 6 || st.Revision != 6 {
		t.Fatalf("Status = %+v, %v", st, err)
	}
}
