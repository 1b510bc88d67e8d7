package boltstore

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/mahou-go/mahou/kv"
)

func (a *applyTx) compact(c kv.Compact) (kv.Result, error) {
	if c.Revision > a.revision {
		return kv.Result{Err: kv.ErrFutureRevision}, nil
	}
	if c.Revision <= a.compacted {
		return kv.Result{}, nil
	}
	return kv.Result{}, a.compactTo(c.Revision)
}

func (a *applyTx) setRetention(c kv.SetRetention) (kv.Result, error) {
	if c.Policy.KeepRevs < 0 || c.Policy.KeepDuration < 0 {
		return kv.Result{Err: kv.Invalid("invalid_retention", "retention values must be >= 0 (0 turns a policy off)")}, nil
	}
	b, err := json.Marshal(c.Policy)
	if err != nil {
		return kv.Result{}, err
	}
	a.touched = true
	return kv.Result{}, a.meta.Put(metaRetention, b)
}

// applyRetention compacts by the stored policy, with the command's time as now.
func (a *applyTx) applyRetention() (kv.Result, error) {
	pol, err := a.retention()
	if err != nil {
		return kv.Result{}, err
	}
	if pol.KeepDuration > 0 {
		r := a.revisionAtTime(time.Unix(0, a.now-int64(pol.KeepDuration)))
		if r > a.compacted {
			if err := a.compactTo(r); err != nil {
				return kv.Result{}, err
			}
		}
	}
	if pol.KeepRevs > 0 {
		n := uint64(pol.KeepRevs)
		err := a.eachKey(func(fork, key string, m *keyMeta) error {
			if m.Rev+1 <= n || m.Rev+1-n <= m.FirstRev {
				return nil
			}
			return a.compactKey(fork, key, m, m.Rev+1-n)
		})
		if err != nil {
			return kv.Result{}, err
		}
	}
	return kv.Result{}, nil
}

// compactTo drops history superseded before revision r in every key, except revs that links
// and dependents (fork points, merge bases) still need, and revision records before r.
func (a *applyTx) compactTo(r int64) error {
	err := a.eachKey(func(fork, key string, m *keyMeta) error {
		keep, found, err := a.revAt(fork, key, m, r)
		if err != nil {
			return err
		}
		if !found {
			return nil
		}
		return a.compactKey(fork, key, m, keep)
	})
	if err != nil {
		return err
	}
	c := a.revs.Cursor()
	var drop [][]byte
	for k, _ := c.First(); k != nil && revOf(k) < r; k, _ = c.Next() {
		drop = append(drop, slices.Clone(k))
	}
	for _, k := range drop {
		if err := a.revs.Delete(k); err != nil {
			return err
		}
	}
	a.compacted = r
	a.touched = true
	return nil
}

// eachKey calls fn for every key of every fork, on a list taken first so fn may write.
func (a *applyTx) eachKey(fn func(fork, key string, m *keyMeta) error) error {
	var all [][]byte
	c := a.keys.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		all = append(all, slices.Clone(k))
	}
	for _, k := range all {
		fork, key, err := splitKeysKey(k)
		if err != nil {
			return err
		}
		m, err := a.loadMeta(fork, key)
		if err != nil {
			return err
		}
		if m == nil {
			continue
		}
		if err := fn(fork, key, m); err != nil {
			return err
		}
	}
	return nil
}

// compactKey drops the own revs of (fork, key) below keep (keep >= FirstRev), lowered to protect
// links and dependents, and the revs its base supplied, which are older still. The lowest kept
// rev is rewritten so it no longer needs the dropped ones.
func (a *applyTx) compactKey(fork, key string, m *keyMeta, keep uint64) error {
	floor := keep
	for _, l := range m.Links {
		floor = min(floor, l.MyRev)
	}
	for _, d := range m.Dependents {
		floor = min(floor, d.Rev)
	}
	if m.Deleted && floor == m.Rev && len(m.Links) == 0 && len(m.Dependents) == 0 {
		// a tombstone older than the compaction point: the key is gone, as in etcd
		return a.dropKey(fork, key, m)
	}
	changed := false
	if floor > m.FirstRev {
		if err := a.rebaseAt(fork, key, m, floor); err != nil {
			return err
		}
		for rev := m.FirstRev; rev < floor; rev++ {
			if err := a.dropEntry(fork, key, rev); err != nil {
				return err
			}
		}
		m.FirstRev, changed = floor, true
	}
	if m.HasBase {
		m.HasBase, m.Base, changed = false, ref{}, true
	}
	if !changed {
		return nil
	}
	m.Trimmed = true
	a.touched = true
	return a.putMeta(fork, key, m)
}

// rebaseAt rewrites the entry at rev as a keyframe if it is a delta, so it stands alone.
func (a *applyTx) rebaseAt(fork, key string, m *keyMeta, rev uint64) error {
	e, err := a.loadEntry(fork, key, rev)
	if err != nil || e == nil || e.Kind != kindDelta {
		return err
	}
	val, _, err := a.value(fork, key, m, rev)
	if err != nil {
		return err
	}
	e.Kind, e.Data, e.Depth = kindKeyframe, val, 0
	return a.putEntry(fork, key, rev, e)
}

// dropEntry deletes one own rev, releasing the fork point it referred to.
func (a *applyTx) dropEntry(fork, key string, rev uint64) error {
	e, err := a.loadEntry(fork, key, rev)
	if err != nil || e == nil {
		return err
	}
	if e.Kind == kindRef {
		if err := a.dropDependent(e.Ref.Fork, key, ref{Fork: fork, Rev: e.Ref.Rev}); err != nil {
			return err
		}
	}
	return a.hist.Delete(histKey(fork, key, rev))
}

// dropKey erases a compacted-away tombstone with everything it refers to.
func (a *applyTx) dropKey(fork, key string, m *keyMeta) error {
	for rev := m.FirstRev; rev <= m.Rev; rev++ {
		if err := a.dropEntry(fork, key, rev); err != nil {
			return err
		}
	}
	if m.HasBase {
		if err := a.dropDependent(m.Base.Fork, key, ref{Fork: fork, Rev: m.Base.Rev}); err != nil {
			return err
		}
	}
	a.touched = true
	return a.keys.Delete(keysKey(fork, key))
}
