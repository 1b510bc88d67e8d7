package boltstore

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mahou-go/mahou/kv"
	"github.com/mahou-go/mahou/kv/history"
)

// Get implements kv.Reader.
func (s *Store) Get(fork, key string, at kv.At) (kv.Record, error) {
	var rec kv.Record
	err := s.view(func(v *view) error {
		m, err := v.loadMeta(fork, key)
		if err != nil {
			return err
		}
		if m == nil {
			return kv.ErrNotFound
		}
		rev, readRev, err := v.resolve(fork, key, m, at)
		if err != nil {
			return err
		}
		rec, err = v.record(fork, key, m, rev)
		rec.ReadRevision = readRev
		return err
	})
	return rec, err
}

// resolve turns a read point into a per-key rev of (fork, key) and the store revision the read
// is served at.
func (v *view) resolve(fork, key string, m *keyMeta, at kv.At) (uint64, int64, error) {
	now := v.revision
	switch {
	case at.HasRev:
		if at.Rev > m.Rev {
			return 0, 0, kv.ErrRevNotFound
		}
		return at.Rev, now, nil
	case at.Revision > 0 || !at.Time.IsZero():
		r := at.Revision
		if r == 0 {
			r = v.revisionAtTime(at.Time)
			if r == 0 {
				if c := v.compacted; c > 0 {
					return 0, 0, &kv.CompactedError{CompactedRevision: c}
				}
				return 0, 0, kv.ErrNotFound
			}
		}
		if err := v.checkRevision(r); err != nil {
			return 0, 0, err
		}
		rev, ok, err := v.revAt(fork, key, m, r)
		if err != nil {
			return 0, 0, err
		}
		if !ok {
			return 0, 0, kv.ErrNotFound
		}
		return rev, r, nil
	}
	return m.Rev, now, nil
}

func (v *view) checkRevision(r int64) error {
	if r > v.revision {
		return kv.ErrFutureRevision
	}
	if c := v.compacted; r < c {
		return &kv.CompactedError{CompactedRevision: c}
	}
	return nil
}

// record builds the Record of (fork, key)@rev.
func (v *view) record(fork, key string, m *keyMeta, rev uint64) (kv.Record, error) {
	rec := kv.Record{Key: key, Fork: fork, Rev: rev}
	if rev == m.Rev {
		rec.Op, rec.Deleted = m.Op, m.Deleted
		rec.ModRevision, rec.CreatedRevision = m.ModRevision, m.CreatedRevision
		rec.Ancestors = slices.Clone(m.Ancestors)
	} else {
		loc, err := v.locate(fork, key, m, rev)
		if err != nil {
			return rec, err
		}
		e := loc.e
		rec.Op, rec.Deleted = e.Op, e.Deleted
		rec.ModRevision, rec.CreatedRevision = e.Revision, e.CreatedRevision
		rec.Ancestors = slices.Clone(e.Ancestors)
	}
	rec.Time = v.revTime(rec.ModRevision)
	rec.OldestRev = v.oldestRev(key, m)
	if !rec.Deleted {
		val, _, err := v.value(fork, key, m, rev)
		if err != nil {
			return rec, err
		}
		rec.Value = val
	}
	return rec, nil
}

// Values implements kv.Reader. It rebuilds each keyframe run once, walking forward.
func (s *Store) Values(fork, key string, lo, hi uint64) ([][]byte, error) {
	if lo > hi {
		return nil, nil
	}
	var out [][]byte
	err := s.view(func(v *view) error {
		m, err := v.loadMeta(fork, key)
		if err != nil {
			return err
		}
		if m == nil {
			return kv.ErrNotFound
		}
		if hi > m.Rev {
			return kv.ErrRevNotFound
		}
		out = make([][]byte, 0, hi-lo+1)
		var prev []byte
		for rev := lo; rev <= hi; rev++ {
			val, err := v.nextValue(fork, key, m, rev, prev, rev > lo)
			if err != nil {
				return err
			}
			out = append(out, val)
			prev = val
		}
		return nil
	})
	return out, err
}

// nextValue returns (fork, key)@rev, applying its delta to prev (the value at rev-1) when it is
// a delta stored in this fork and prev is known, and rebuilding otherwise.
func (v *view) nextValue(fork, key string, m *keyMeta, rev uint64, prev []byte, havePrev bool) ([]byte, error) {
	if havePrev && rev >= m.FirstRev && rev != m.Rev {
		e, err := v.loadEntry(fork, key, rev)
		if err != nil {
			return nil, err
		}
		if e != nil && e.Kind == kindDelta && prev != nil {
			return history.Apply(prev, e.Data)
		}
	}
	val, _, err := v.value(fork, key, m, rev)
	return val, err
}

// History implements kv.Reader.
func (s *Store) History(fork, key string, beforeRev uint64, limit int) ([]kv.HistoryEntry, bool, error) {
	var out []kv.HistoryEntry
	more := false
	err := s.view(func(v *view) error {
		m, err := v.loadMeta(fork, key)
		if err != nil {
			return err
		}
		if m == nil {
			return kv.ErrNotFound
		}
		start := int64(m.Rev)
		if beforeRev > 0 && beforeRev <= m.Rev {
			start = int64(beforeRev) - 1
		}
		for rev := start; rev >= 0; rev-- {
			if len(out) == limit {
				more = true
				return nil
			}
			loc, err := v.locate(fork, key, m, uint64(rev))
			if errors.Is(err, kv.ErrCompacted) {
				return nil
			}
			if err != nil {
				return err
			}
			e := loc.e
			out = append(out, kv.HistoryEntry{Rev: uint64(rev), Revision: e.Revision, Op: e.Op,
				Time: v.revTime(e.Revision), Size: int(e.Size), Deleted: e.Deleted, Ancestors: slices.Clone(e.Ancestors)})
		}
		return nil
	})
	return out, more, err
}

// Keys implements kv.Reader.
func (s *Store) Keys(q kv.KeysQuery) (kv.KeysPage, error) {
	limit := q.Limit
	if limit <= 0 || limit > DefaultMaxPageKeys {
		limit = DefaultMaxPageKeys
	}
	page := kv.KeysPage{Keys: []string{}}
	err := s.view(func(v *view) error {
		page.Revision = v.revision
		if q.Revision > 0 {
			if err := v.checkRevision(q.Revision); err != nil {
				return err
			}
			page.Revision = q.Revision
		}
		fp := forkPrefix(q.Fork)
		prefix := keysKey(q.Fork, q.Prefix)
		start := prefix
		if q.After != "" && q.After >= q.Prefix {
			start = append(keysKey(q.Fork, q.After), 0)
		}
		c := v.keys.Cursor()
		for k, val := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, val = c.Next() {
			key := string(k[len(fp):])
			live, err := v.liveAt(q.Fork, key, val, q.Revision)
			if err != nil {
				return err
			}
			if !live {
				continue
			}
			if len(page.Keys) == limit {
				page.More = true
				return nil
			}
			page.Keys = append(page.Keys, key)
		}
		return nil
	})
	return page, err
}

// liveAt reports whether a key (given its encoded meta) existed, not deleted, at revision r
// (0: now).
func (v *view) liveAt(fork, key string, raw []byte, r int64) (bool, error) {
	m, err := decodeMeta(raw)
	if err != nil {
		return false, err
	}
	if r == 0 || m.ModRevision <= r {
		return !m.Deleted, nil
	}
	rev, ok, err := v.revAt(fork, key, m, r)
	if err != nil || !ok {
		return false, ignoreCompacted(err)
	}
	loc, err := v.locate(fork, key, m, rev)
	if err != nil {
		return false, ignoreCompacted(err)
	}
	return !loc.e.Deleted, nil
}

func ignoreCompacted(err error) error {
	if errors.Is(err, kv.ErrCompacted) {
		return nil
	}
	return err
}

// Forks implements kv.Reader.
func (s *Store) Forks() ([]kv.ForkInfo, error) {
	var out []kv.ForkInfo
	err := s.view(func(v *view) error {
		return v.forks.ForEach(func(k, val []byte) error {
			f, err := decodeFork(val)
			if err != nil {
				return err
			}
			out = append(out, kv.ForkInfo{Name: string(k), CreatedRevision: f.CreatedRevision,
				Points: f.Points, Keys: int(f.LiveKeys)})
			return nil
		})
	})
	slices.SortStableFunc(out, func(a, b kv.ForkInfo) int {
		switch {
		case a.Name == b.Name:
			return 0
		case a.Name == kv.DefaultFork:
			return -1
		case b.Name == kv.DefaultFork:
			return 1
		case a.Name < b.Name:
			return -1
		}
		return 1
	})
	return out, err
}

// maxEventBytes bounds the values one Events call returns (it always returns at least one
// whole revision), so a watcher catching up on large values holds a bounded batch.
const maxEventBytes = 4 << 20

// Events implements kv.Reader.
func (s *Store) Events(from int64, limit int, match func(fork, key string) bool) ([]kv.Event, int64, error) {
	if from < 1 {
		from = 1
	}
	next := from
	var out []kv.Event
	err := s.view(func(v *view) error {
		if c := v.compacted; from < c {
			return &kv.CompactedError{CompactedRevision: c}
		}
		c := v.revs.Cursor()
		size := 0
		for k, val := c.Seek(revKey(from)); k != nil; k, val = c.Next() {
			if limit > 0 && len(out) >= limit || size >= maxEventBytes {
				return nil
			}
			r := revOf(k)
			rec, err := decodeRev(val)
			if err != nil {
				return fmt.Errorf("read revision %d: %w", r, err)
			}
			for _, e := range rec.Events {
				if match != nil && !match(e.Fork, e.Key) {
					continue
				}
				ev := v.event(r, rec.Time, e)
				size += len(ev.Value)
				out = append(out, ev)
			}
			next = r + 1
		}
		return nil
	})
	return out, next, err
}

// event builds the public event, with the value when it is still stored.
func (v *view) event(r, t int64, e event) kv.Event {
	ev := kv.Event{Type: e.Op, Key: e.Key, Fork: e.Fork, Rev: e.Rev, Revision: r,
		Time: time.Unix(0, t).UTC(), Deleted: e.Deleted, Purged: e.Purged}
	if e.Deleted {
		return ev
	}
	m, err := v.loadMeta(e.Fork, e.Key)
	if err != nil || m == nil || e.Rev > m.Rev {
		ev.ValueCompacted = true
		return ev
	}
	// a purged and re-created key reuses revs: check the rev is still the one of this event
	if loc, err := v.locate(e.Fork, e.Key, m, e.Rev); err != nil || loc.e.Revision != r {
		ev.ValueCompacted = true
		return ev
	}
	val, _, err := v.value(e.Fork, e.Key, m, e.Rev)
	if err != nil {
		ev.ValueCompacted = true
		return ev
	}
	ev.Value = val
	return ev
}

// oldestRev is the lowest rev of a key still readable, following fork bases.
func (v *view) oldestRev(key string, m *keyMeta) uint64 {
	for range maxForkDepth {
		if !m.HasBase {
			return m.FirstRev
		}
		base, err := v.loadMeta(m.Base.Fork, key)
		if err != nil || base == nil || base.FirstRev >= m.Base.Rev {
			return m.FirstRev
		}
		m = base
	}
	return m.FirstRev
}
