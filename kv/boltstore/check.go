package boltstore

import (
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Check verifies the store's invariants and returns every violation found, joined. It reads
// the whole file: run it in tests and from `crush` maintenance commands, not on a hot path.
//
// Invariants: every record decodes; every key stores each own rev from FirstRev to Rev and
// every one of them rebuilds; every ref has a dependent in the key it refers to and every
// dependent is backed by a ref or a base; links are symmetric; fork live-key counts match the
// keys; the revision counter matches the newest revision record.
func (s *Store) Check() error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	err := s.view(func(v *view) error {
		live := map[string]uint64{}
		c := v.keys.Cursor()
		for k, raw := c.First(); k != nil; k, raw = c.Next() {
			fork, key, err := splitKeysKey(k)
			if err != nil {
				fail("%v", err)
				continue
			}
			m, err := decodeMeta(raw)
			if err != nil {
				fail("%s/%s: %v", fork, key, err)
				continue
			}
			if !m.Deleted {
				live[fork]++
			}
			v.checkKey(fork, key, m, fail)
		}
		v.checkForks(live, fail)
		if last, _ := v.revs.Cursor().Last(); last != nil && revOf(last) != v.revision {
			fail("newest revision record %d, counter %d", revOf(last), v.revision)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

func (v *view) checkKey(fork, key string, m *keyMeta, fail func(string, ...any)) {
	if m.FirstRev > m.Rev {
		fail("%s/%s: first rev %d above rev %d", fork, key, m.FirstRev, m.Rev)
		return
	}
	for rev := m.FirstRev; rev <= m.Rev; rev++ {
		e, err := v.loadEntry(fork, key, rev)
		if err != nil || e == nil {
			fail("%s/%s@%d: entry missing or corrupt: %v", fork, key, rev, err)
			continue
		}
		if _, _, err := v.value(fork, key, m, rev); err != nil {
			fail("%s/%s@%d: rebuild: %v", fork, key, rev, err)
		}
		if e.Kind == kindRef && !v.hasDependent(e.Ref.Fork, key, ref{Fork: fork, Rev: e.Ref.Rev}) {
			fail("%s/%s@%d: ref to %s@%d has no dependent there", fork, key, rev, e.Ref.Fork, e.Ref.Rev)
		}
	}
	for _, l := range m.Links {
		om, err := v.loadMeta(l.Fork, key)
		if err != nil || om == nil {
			fail("%s/%s: link to %s: key missing", fork, key, l.Fork)
			continue
		}
		back, ok := findLink(om.Links, fork)
		if !ok || back.MyRev != l.TheirRev || back.TheirRev != l.MyRev {
			fail("%s/%s: link to %s %+v not mirrored (%+v)", fork, key, l.Fork, l, back)
		}
	}
	for _, d := range m.Dependents {
		dm, err := v.loadMeta(d.Fork, key)
		if err != nil || dm == nil {
			fail("%s/%s: dependent %s: key missing", fork, key, d.Fork)
			continue
		}
		if !(dm.HasBase && dm.Base == ref{Fork: fork, Rev: d.Rev}) && !v.refersTo(d.Fork, key, dm, ref{Fork: fork, Rev: d.Rev}) {
			fail("%s/%s: dependent %s@%d has no ref or base here", fork, key, d.Fork, d.Rev)
		}
	}
}

func (v *view) hasDependent(fork, key string, d ref) bool {
	m, err := v.loadMeta(fork, key)
	return err == nil && m != nil && slices.Contains(m.Dependents, d)
}

func (v *view) refersTo(fork, key string, m *keyMeta, target ref) bool {
	for rev := m.FirstRev; rev <= m.Rev; rev++ {
		if e, err := v.loadEntry(fork, key, rev); err == nil && e != nil && e.Kind == kindRef && e.Ref == target {
			return true
		}
	}
	return false
}

func (v *view) checkForks(live map[string]uint64, fail func(string, ...any)) {
	seen := map[string]bool{}
	_ = v.forks.ForEach(func(k, raw []byte) error {
		f, err := decodeFork(raw)
		if err != nil {
			fail("fork %s: %v", k, err)
			return nil
		}
		seen[string(k)] = true
		if f.LiveKeys != live[string(k)] {
			fail("fork %s: %d live keys recorded, %d found", k, f.LiveKeys, live[string(k)])
		}
		return nil
	})
	for f, n := range live {
		if !seen[f] && n > 0 {
			fail("fork %s has %d live keys and no fork record", f, n)
		}
	}
}

// Usage is the space the history takes: the history and revision buckets.
type Usage struct {
	// LogicalBytes counts the keys and values stored.
	LogicalBytes int64
	// PageBytes counts the bbolt page bytes in use by those buckets.
	PageBytes int64
	// FileBytes is the whole file less its free pages: everything stored, all buckets.
	FileBytes int64
}

// BucketUsage measures the history and revision buckets (benchmarks and capacity planning).
func (s *Store) BucketUsage() (Usage, error) {
	var u Usage
	s.mu.RLock()
	if s.db != nil {
		st := s.db.Stats()
		defer func() { u.FileBytes -= int64(st.FreeAlloc) }()
	}
	s.mu.RUnlock()
	err := s.view(func(v *view) error {
		u.FileBytes = v.tx.Size()
		for _, b := range []*bolt.Bucket{v.hist, v.revs} {
			st := b.Stats()
			u.PageBytes += int64(st.LeafInuse + st.BranchInuse)
			if err := b.ForEach(func(k, val []byte) error {
				u.LogicalBytes += int64(len(k) + len(val))
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	return u, err
}
