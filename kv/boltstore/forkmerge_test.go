package boltstore_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mahou-go/mahou/kv"
)

func TestStore_ForkSharesHistory(t *testing.T) {
	h := newHarness(t)
	h.put("default", "cfg", "v1")
	h.put("default", "cfg", "v2")
	r := h.ok(kv.Fork{From: "default", To: "canary", Key: "cfg"})
	if r.Rev != 1 || len(r.Keys) != 1 || r.Keys[0].Outcome != "forked" {
		t.Fatalf("fork result %+v, want rev 1 (same as the source)", r)
	}
	rec := h.get("canary", "cfg", kv.At{})
	if string(rec.Value) != "v2" || rec.Op != kv.OpFork || len(rec.Ancestors) != 1 || rec.Ancestors[0] != (kv.Ancestor{Fork: "default", Rev: 1}) {
		t.Fatalf("forked record %+v", rec)
	}
	h.wantValue("canary", "cfg", kv.AtRev(0), "v1")
	h.put("canary", "cfg", "v3")
	h.wantValue("canary", "cfg", kv.At{}, "v3")
	h.wantValue("default", "cfg", kv.At{}, "v2")
	hist, _, err := h.s.History("canary", "cfg", 0, 10)
	if err != nil || len(hist) != 3 || hist[1].Op != kv.OpFork || hist[2].Op != kv.OpPut {
		t.Fatalf("canary history %+v, %v", hist, err)
	}
	// the fork did not exist before it was made
	h.wantErr("canary", "cfg", kv.AtRevision(2), kv.ErrNotFound)
	// the source keeps changing independently
	h.put("default", "cfg", "v2b")
	h.wantValue("canary", "cfg", kv.AtRev(1), "v2")
	h.wantValue("canary", "cfg", kv.At{}, "v3")
}

func TestStore_ForkRefusesExistingTarget(t *testing.T) {
	h := newHarness(t)
	h.put("default", "k", "src")
	h.put("other", "k", "dst")
	r := h.do(kv.Fork{From: "default", To: "other", Key: "k"})
	var ee *kv.ExistsError
	if !errors.As(r.Err, &ee) || len(ee.Keys) != 1 {
		t.Fatalf("fork onto existing: %v, want target exists", r.Err)
	}
	r = h.ok(kv.Fork{From: "default", To: "other", Key: "k", Force: true})
	if r.Rev != 1 {
		t.Fatalf("forced fork rev %d, want 1 (appended to the target's history)", r.Rev)
	}
	h.wantValue("other", "k", kv.At{}, "src")
	h.wantValue("other", "k", kv.AtRev(0), "dst")
	if r := h.do(kv.Fork{From: "default", To: "x", Key: "missing"}); !errors.Is(r.Err, kv.ErrNotFound) {
		t.Fatalf("fork of missing key: %v", r.Err)
	}
	if r := h.do(kv.Fork{From: "default", To: "default", Key: "k"}); !errors.Is(r.Err, kv.ErrInvalidArgument) {
		t.Fatalf("fork onto itself: %v", r.Err)
	}
}

func TestStore_ForkPrefixAtRevision(t *testing.T) {
	h := newHarness(t)
	h.put("default", "app/a", "a1")
	h.put("default", "app/b", "b1")
	past := h.s.Revision()
	h.put("default", "app/a", "a2")
	h.put("default", "app/c", "c1")
	h.ok(kv.Delete{Fork: "default", Key: "app/b"})
	r := h.ok(kv.Fork{From: "default", To: "snap", IsPrefix: true, Prefix: "app/", Revision: past})
	if len(r.Keys) != 2 {
		t.Fatalf("forked %+v, want app/a and app/b as of revision %d", r.Keys, past)
	}
	h.wantValue("snap", "app/a", kv.At{}, "a1")
	h.wantValue("snap", "app/b", kv.At{}, "b1")
	h.wantErr("snap", "app/c", kv.At{}, kv.ErrNotFound)
	forks, err := h.s.Forks()
	if err != nil || len(forks) != 2 || forks[0].Name != "default" || forks[1].Name != "snap" || forks[1].Keys != 2 {
		t.Fatalf("Forks = %+v, %v", forks, err)
	}
	if p := forks[1].Points; len(p) != 1 || p[0].FromRevision != past || !p[0].IsPrefix || p[0].Prefix != "app/" {
		t.Fatalf("fork points %+v", p)
	}
}

func TestStore_ForkOfFork(t *testing.T) {
	h := newHarness(t)
	h.put("default", "k", "0")
	h.put("default", "k", "1")
	h.ok(kv.Fork{From: "default", To: "b", Key: "k"})
	h.put("b", "k", "2")
	h.ok(kv.Fork{From: "b", To: "c", Key: "k"})
	h.put("c", "k", "3")
	for rev, want := range []string{"0", "1", "2", "3"} {
		rec := h.get("c", "k", kv.AtRev(uint64(rev)))
		if string(rec.Value) != want {
			t.Fatalf("c@%d = %q, want %q", rev, rec.Value, want)
		}
	}
}

func TestStore_MergeThreeWay(t *testing.T) {
	cases := []struct {
		name       string
		src, dst   []string // writes after the fork ("-" deletes)
		strategy   kv.MergeStrategy
		want       string // "" means deleted, "!" a conflict
		wantResult string
	}{
		{"fast-forward", []string{"s1"}, nil, kv.MergeThreeWay, "s1", "fast-forward"},
		{"source unchanged", nil, []string{"d1"}, kv.MergeThreeWay, "d1", "unchanged"},
		{"both same", []string{"x"}, []string{"x"}, kv.MergeThreeWay, "x", "unchanged"},
		{"conflict", []string{"s1"}, []string{"d1"}, kv.MergeThreeWay, "!", ""},
		{"target wins", []string{"s1"}, []string{"d1"}, kv.MergeTargetWins, "d1", "kept-target"},
		{"source wins", []string{"s1"}, []string{"d1"}, kv.MergeSourceWins, "s1", "overwritten"},
		{"source deleted", []string{"-"}, nil, kv.MergeThreeWay, "", "deleted"},
		{"source deleted, target changed", []string{"-"}, []string{"d1"}, kv.MergeThreeWay, "!", ""},
		{"target deleted, source changed", []string{"s1"}, []string{"-"}, kv.MergeThreeWay, "!", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.put("default", "k", "base")
			h.ok(kv.Fork{From: "default", To: "feature", Key: "k"})
			write := func(fork string, vals []string) {
				for _, v := range vals {
					if v == "-" {
						h.ok(kv.Delete{Fork: fork, Key: "k"})
					} else {
						h.put(fork, "k", v)
					}
				}
			}
			write("feature", c.src)
			write("default", c.dst)
			r := h.do(kv.Merge{From: "feature", To: "default", Key: "k", Strategy: c.strategy})
			if c.want == "!" {
				var ce *kv.ConflictError
				if !errors.As(r.Err, &ce) || len(ce.Conflicts) != 1 || ce.Conflicts[0].Key != "k" || !ce.Conflicts[0].HasBase {
					t.Fatalf("got %v, want a conflict on k", r.Err)
				}
				return
			}
			if r.Err != nil {
				t.Fatalf("merge: %v", r.Err)
			}
			if r.Keys[0].Outcome != c.wantResult {
				t.Fatalf("outcome %q, want %q", r.Keys[0].Outcome, c.wantResult)
			}
			rec := h.get("default", "k", kv.At{})
			if c.want == "" {
				if !rec.Deleted {
					t.Fatalf("target %q, want deleted", rec.Value)
				}
				return
			}
			if string(rec.Value) != c.want {
				t.Fatalf("target %q, want %q", rec.Value, c.want)
			}
		})
	}
}

// After a merge, the next merge uses it as base: no false conflicts, no lost target edits.
func TestStore_MergeMovesBase(t *testing.T) {
	h := newHarness(t)
	h.put("default", "k", "base")
	h.ok(kv.Fork{From: "default", To: "f", Key: "k"})
	h.put("f", "k", "f1")
	h.ok(kv.Merge{From: "f", To: "default", Key: "k", Strategy: kv.MergeThreeWay})
	h.put("f", "k", "f2")
	r := h.ok(kv.Merge{From: "f", To: "default", Key: "k", Strategy: kv.MergeThreeWay})
	if r.Keys[0].Outcome != "fast-forward" {
		t.Fatalf("second merge outcome %q, want fast-forward", r.Keys[0].Outcome)
	}
	// target edits while the source has nothing new are never overwritten later
	h.put("default", "k", "t1")
	h.ok(kv.Merge{From: "f", To: "default", Key: "k", Strategy: kv.MergeThreeWay})
	h.put("f", "k", "f3")
	if r := h.do(kv.Merge{From: "f", To: "default", Key: "k", Strategy: kv.MergeThreeWay}); !errors.Is(r.Err, kv.ErrConflict) {
		t.Fatalf("merge after both changed: %v, want a conflict", r.Err)
	}
	// merging back the other way fast-forwards the fork
	h.ok(kv.Merge{From: "f", To: "default", Key: "k", Strategy: kv.MergeSourceWins})
	rec := h.get("default", "k", kv.At{})
	if rec.Ancestors[0].Fork != "f" {
		t.Fatalf("ancestors %+v, want f first", rec.Ancestors)
	}
}

func TestStore_MergePrefixAtomic(t *testing.T) {
	h := newHarness(t)
	for _, k := range []string{"p/a", "p/b", "p/c"} {
		h.put("default", k, "base")
	}
	h.ok(kv.Fork{From: "default", To: "f", IsPrefix: true, Prefix: "p/"})
	h.put("f", "p/a", "fa")
	h.put("f", "p/b", "fb")
	h.put("f", "p/new", "fn")
	h.put("default", "p/b", "db")
	before := h.s.Revision()
	r := h.do(kv.Merge{From: "f", To: "default", IsPrefix: true, Prefix: "p/", Strategy: kv.MergeThreeWay})
	var ce *kv.ConflictError
	if !errors.As(r.Err, &ce) || len(ce.Conflicts) != 1 || ce.Conflicts[0].Key != "p/b" {
		t.Fatalf("merge: %v, want one conflict on p/b", r.Err)
	}
	if h.s.Revision() != before {
		t.Fatal("a conflicting merge wrote something")
	}
	h.wantValue("default", "p/a", kv.At{}, "base")
	r = h.ok(kv.Merge{From: "f", To: "default", IsPrefix: true, Prefix: "p/", Strategy: kv.MergeTargetWins})
	got := map[string]string{}
	for _, k := range r.Keys {
		got[k.Key] = k.Outcome
	}
	want := map[string]string{"p/a": "fast-forward", "p/b": "kept-target", "p/c": "unchanged", "p/new": "added"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	if h.s.Revision() != before+1 {
		t.Fatalf("merge took %d revisions, want 1", h.s.Revision()-before)
	}
	h.wantValue("default", "p/new", kv.At{}, "fn")
}

func TestStore_MergeV1Semantics(t *testing.T) {
	h := newHarness(t)
	h.put("default", "k", "v1")
	h.put("f", "k", "made by put") // a fork made by PUT: the original crush crashed merging into it
	v1 := kv.Merge{From: "default", To: "f", Key: "k", Strategy: kv.MergeSourceWins, RequireTarget: true}
	r := h.ok(v1)
	if r.Rev != 1 {
		t.Fatalf("v1 merge rev %d, want 1", r.Rev)
	}
	h.wantValue("f", "k", kv.At{}, "v1")
	if r := h.do(kv.Merge{From: "default", To: "nope", Key: "k", Strategy: kv.MergeSourceWins, RequireTarget: true}); !errors.Is(r.Err, kv.ErrTargetNotFound) {
		t.Fatalf("missing target: %v", r.Err)
	}
	if r := h.do(kv.Merge{From: "nope", To: "f", Key: "k", Strategy: kv.MergeSourceWins, RequireTarget: true}); !errors.Is(r.Err, kv.ErrSourceNotFound) {
		t.Fatalf("missing source: %v", r.Err)
	}
	// self-merge, as crush allowed it: same value, rev + 1, itself as ancestor
	r = h.ok(kv.Merge{From: "f", To: "f", Key: "k", Strategy: kv.MergeSourceWins, RequireTarget: true})
	rec := h.get("f", "k", kv.At{})
	if rec.Rev != 2 || string(rec.Value) != "v1" || rec.Ancestors[0] != (kv.Ancestor{Fork: "f", Rev: 1}) {
		t.Fatalf("self-merge record %+v", rec)
	}
}

func TestStore_PurgeKeepsForks(t *testing.T) {
	h := newHarness(t)
	h.put("default", "k", "a")
	h.put("default", "k", "b")
	h.ok(kv.Fork{From: "default", To: "f", Key: "k"})
	h.ok(kv.Delete{Fork: "default", Key: "k", Purge: true})
	h.wantValue("f", "k", kv.At{}, "b")
	h.put("f", "k", "c")
	h.wantValue("f", "k", kv.AtRev(1), "b")
	h.wantErr("f", "k", kv.AtRev(0), kv.ErrCompacted)
}
