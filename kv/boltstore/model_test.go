package boltstore_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mahou-go/mahou/kv"
)

// modelKey is what a key's history must look like: one value per rev (nil = deleted), and the
// lowest rev still readable (purging a fork's source takes its shared history).
type modelKey struct {
	vals   [][]byte
	lowest int
}

func (m *modelKey) live() bool { return m != nil && len(m.vals) > 0 && m.vals[len(m.vals)-1] != nil }

// TestStore_RandomModel runs random puts, deletes, forks, merges, reverts and purges over a few
// forks and keys, and checks every rev of every key against a simple in-memory model.
func TestStore_RandomModel(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			runModel(t, seed, 300)
		})
	}
}

func runModel(t *testing.T, seed uint64, steps int) {
	h := newHarness(t)
	rng := rand.New(rand.NewPCG(seed, seed*31))
	forks := []string{"default", "a", "b"}
	keys := []string{"k1", "k2", "k3"}
	model := map[[2]string]*modelKey{}
	randVal := func(prev []byte) []byte {
		if prev == nil || rng.IntN(4) == 0 {
			v := make([]byte, rng.IntN(200))
			for i := range v {
				v[i] = byte(rng.IntN(4) + 'a')
			}
			return v
		}
		v := bytes.Clone(prev)
		if len(v) > 0 {
			v[rng.IntN(len(v))] = byte(rng.IntN(256))
		}
		return append(v, byte(rng.IntN(256)))
	}
	for step := 0; step < steps; step++ {
		f, k := forks[rng.IntN(len(forks))], keys[rng.IntN(len(keys))]
		mk := model[[2]string{f, k}]
		switch op := rng.IntN(10); {
		case op < 4:
			var prev []byte
			if mk.live() {
				prev = mk.vals[len(mk.vals)-1]
			}
			v := randVal(prev)
			h.ok(kv.Put{Fork: f, Key: k, Value: v})
			if mk == nil {
				mk = &modelKey{}
				model[[2]string{f, k}] = mk
			}
			mk.vals = append(mk.vals, v)
		case op == 4:
			r := h.do(kv.Delete{Fork: f, Key: k})
			if !mk.live() {
				if !errors.Is(r.Err, kv.ErrNotFound) {
					t.Fatalf("step %d: delete of missing key: %v", step, r.Err)
				}
				continue
			}
			mk.vals = append(mk.vals, nil)
		case op == 5 || op == 6:
			to := forks[rng.IntN(len(forks))]
			if to == f {
				continue
			}
			dst := model[[2]string{to, k}]
			force := rng.IntN(2) == 0
			r := h.do(kv.Fork{From: f, To: to, Key: k, Force: force})
			switch {
			case !mk.live():
				if !errors.Is(r.Err, kv.ErrNotFound) {
					t.Fatalf("step %d: fork of missing key: %v", step, r.Err)
				}
			case dst.live() && !force:
				if !errors.Is(r.Err, kv.ErrTargetExists) {
					t.Fatalf("step %d: fork onto existing: %v", step, r.Err)
				}
			case r.Err != nil:
				t.Fatalf("step %d: fork: %v", step, r.Err)
			case dst == nil:
				model[[2]string{to, k}] = &modelKey{vals: append([][]byte(nil), mk.vals...), lowest: mk.lowest}
			default:
				dst.vals = append(dst.vals, mk.vals[len(mk.vals)-1])
			}
		case op == 7:
			to := forks[rng.IntN(len(forks))]
			dst := model[[2]string{to, k}]
			r := h.do(kv.Merge{From: f, To: to, Key: k, Strategy: kv.MergeSourceWins, RequireTarget: true})
			switch {
			case !mk.live():
				if !errors.Is(r.Err, kv.ErrSourceNotFound) {
					t.Fatalf("step %d: merge from missing: %v", step, r.Err)
				}
			case !dst.live():
				if !errors.Is(r.Err, kv.ErrTargetNotFound) {
					t.Fatalf("step %d: merge into missing: %v", step, r.Err)
				}
			case r.Err != nil:
				t.Fatalf("step %d: merge: %v", step, r.Err)
			default:
				dst.vals = append(dst.vals, mk.vals[len(mk.vals)-1])
			}
		case op == 8:
			if mk == nil || len(mk.vals) == 0 {
				continue
			}
			to := mk.lowest + rng.IntN(len(mk.vals)-mk.lowest)
			h.ok(kv.Revert{Fork: f, Key: k, ToRev: uint64(to)})
			mk.vals = append(mk.vals, mk.vals[to])
		default:
			if mk == nil || rng.IntN(3) != 0 {
				continue
			}
			h.ok(kv.Delete{Fork: f, Key: k, Purge: true})
			delete(model, [2]string{f, k})
			// forks that shared this key's history keep only their own revs; their fork
			// point rev stays readable
			for _, other := range forks {
				if om := model[[2]string{other, k}]; om != nil && other != f {
					om.lowest = max(om.lowest, forkRevOf(t, h, other, k))
				}
			}
		}
		if step%25 == 0 || step == steps-1 {
			checkModel(t, h, step, model)
		}
	}
}

// forkRevOf returns the lowest rev (fork, key) stores itself.
func forkRevOf(t *testing.T, h *harness, fork, key string) int {
	hist, _, err := h.s.History(fork, key, 0, 1<<20)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	if len(hist) == 0 {
		return 0
	}
	return int(hist[len(hist)-1].Rev)
}

func checkModel(t *testing.T, h *harness, step int, model map[[2]string]*modelKey) {
	t.Helper()
	for fk, mk := range model {
		for rev, want := range mk.vals {
			rec, err := h.s.Get(fk[0], fk[1], kv.AtRev(uint64(rev)))
			if rev < mk.lowest {
				if err == nil {
					t.Fatalf("step %d: %s/%s@%d readable after its source was purged", step, fk[0], fk[1], rev)
				}
				continue
			}
			if err != nil {
				t.Fatalf("step %d: %s/%s@%d: %v", step, fk[0], fk[1], rev, err)
			}
			if want == nil != rec.Deleted || !bytes.Equal(rec.Value, want) && want != nil {
				t.Fatalf("step %d: %s/%s@%d = %q (deleted %v), want %q", step, fk[0], fk[1], rev, rec.Value, rec.Deleted, want)
			}
		}
	}
	if err := h.s.Check(); err != nil {
		t.Fatalf("step %d: invariants: %v", step, err)
	}
}
