package boltstore

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mahou-go/mahou/kv"
	"github.com/mahou-go/mahou/kv/history"
)

// view reads one transaction: a read transaction for queries, or the apply transaction, which
// then sees its own writes.
type view struct {
	s     *Store
	tx    *bolt.Tx
	meta  *bolt.Bucket
	keys  *bolt.Bucket
	hist  *bolt.Bucket
	revs  *bolt.Bucket
	forks *bolt.Bucket
	// revision and compacted are the counters as of this transaction.
	revision, compacted int64
}

func newView(tx *bolt.Tx, s *Store) *view {
	v := &view{
		s:     s,
		tx:    tx,
		meta:  tx.Bucket(bucketMeta),
		keys:  tx.Bucket(bucketKeys),
		hist:  tx.Bucket(bucketHist),
		revs:  tx.Bucket(bucketRevs),
		forks: tx.Bucket(bucketForks),
	}
	v.revision = int64(readU64(v.meta.Get(metaRevision)))
	v.compacted = int64(readU64(v.meta.Get(metaCompacted)))
	return v
}

// loadMeta returns (fork, key)'s meta, or nil if it has none.
func (v *view) loadMeta(fork, key string) (*keyMeta, error) {
	b := v.keys.Get(keysKey(fork, key))
	if b == nil {
		return nil, nil
	}
	m, err := decodeMeta(b)
	if err != nil {
		return nil, fmt.Errorf("load %s/%s: %w", fork, key, err)
	}
	return m, nil
}

// loadEntry returns one stored rev, or nil if it is not stored.
func (v *view) loadEntry(fork, key string, rev uint64) (*entry, error) {
	b := v.hist.Get(histKey(fork, key, rev))
	if b == nil {
		return nil, nil
	}
	e, err := decodeEntry(b)
	if err != nil {
		return nil, fmt.Errorf("load %s/%s@%d: %w", fork, key, rev, err)
	}
	return e, nil
}

// located is where a rev's entry lives once fork bases are followed.
type located struct {
	fork string
	meta *keyMeta
	e    *entry
}

// locate finds the stored entry of (fork, key)@rev, following fork bases to the fork that
// stores it. m is (fork, key)'s meta.
func (v *view) locate(fork, key string, m *keyMeta, rev uint64) (located, error) {
	for range maxForkDepth {
		if rev > m.Rev {
			return located{}, kv.ErrRevNotFound
		}
		if rev < m.FirstRev {
			if !m.HasBase || rev >= m.Base.Rev {
				return located{}, &kv.CompactedError{CompactedRevision: v.compacted}
			}
			next, err := v.loadMeta(m.Base.Fork, key)
			if err != nil {
				return located{}, err
			}
			if next == nil {
				return located{}, fmt.Errorf("locate %s/%s@%d: base fork %s: %w", fork, key, rev, m.Base.Fork, errCorrupt)
			}
			fork, m = m.Base.Fork, next
			continue
		}
		e, err := v.loadEntry(fork, key, rev)
		if err != nil {
			return located{}, err
		}
		if e == nil {
			return located{}, &kv.CompactedError{CompactedRevision: v.compacted}
		}
		return located{fork: fork, meta: m, e: e}, nil
	}
	return located{}, fmt.Errorf("locate %s/%s@%d: fork chain too deep: %w", fork, key, rev, errCorrupt)
}

// maxForkDepth bounds how many forks a rebuild may cross; a chain that long means a cycle.
const maxForkDepth = 1 << 16

// value rebuilds (fork, key)@rev. The result is a fresh slice the caller owns; deleted reports
// a tombstone.
func (v *view) value(fork, key string, m *keyMeta, rev uint64) (val []byte, deleted bool, err error) {
	var deltas [][]byte
	for range maxForkDepth {
		if rev == m.Rev && !m.ValueRef {
			if m.Deleted {
				val, deleted = nil, len(deltas) == 0
			} else {
				val = m.Value
			}
			break
		}
		loc, err := v.locate(fork, key, m, rev)
		if err != nil {
			return nil, false, err
		}
		fork, m = loc.fork, loc.meta
		e := loc.e
		switch e.Kind {
		case kindKeyframe:
			val = e.Data
		case kindEmpty:
			val, deleted = nil, len(deltas) == 0
		case kindRef:
			next, err := v.loadMeta(e.Ref.Fork, key)
			if err != nil {
				return nil, false, err
			}
			if next == nil {
				return nil, false, fmt.Errorf("rebuild %s/%s@%d: ref to %s: %w", fork, key, rev, e.Ref.Fork, errCorrupt)
			}
			fork, m, rev = e.Ref.Fork, next, e.Ref.Rev
			continue
		case kindDelta:
			deltas = append(deltas, e.Data)
			rev--
			continue
		default:
			return nil, false, fmt.Errorf("rebuild %s/%s@%d: kind %d: %w", fork, key, rev, e.Kind, errCorrupt)
		}
		break
	}
	if deleted {
		return nil, true, nil
	}
	out, err := applyChain(val, deltas)
	if err != nil {
		return nil, false, fmt.Errorf("rebuild %s/%s: %w", fork, key, err)
	}
	return out, false, nil
}

// applyChain applies deltas (newest first) to base, which may be bbolt memory, with two
// buffers however long the chain: each step writes into the buffer the step before last used.
// The result is a fresh slice the caller owns.
func applyChain(base []byte, deltas [][]byte) ([]byte, error) {
	cur, owned := base, false
	var spare []byte
	for i := len(deltas) - 1; i >= 0; i-- {
		next, err := history.ApplyTo(spare, cur, deltas[i])
		if err != nil {
			return nil, err
		}
		if owned {
			spare = cur
		}
		cur, owned = next, true
	}
	if !owned {
		cur = slices.Clone(cur)
	}
	if cur == nil {
		cur = []byte{}
	}
	return cur, nil
}

// currentValue returns the current value of a meta (nil, true when deleted).
func (v *view) currentValue(fork, key string, m *keyMeta) ([]byte, bool, error) {
	if m.Deleted {
		return nil, true, nil
	}
	if !m.ValueRef {
		return slices.Clone(m.Value), false, nil
	}
	return v.value(fork, key, m, m.Rev)
}

// revTime returns the time of a store revision, or zero if it is no longer stored.
func (v *view) revTime(r int64) time.Time {
	b := v.revs.Get(revKey(r))
	if b == nil {
		return time.Time{}
	}
	t, err := decodeRevTime(b)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, t).UTC()
}

// revAt returns the newest rev of (fork, key) written at or before store revision r, and
// whether the key existed (in this fork) at r.
func (v *view) revAt(fork, key string, m *keyMeta, r int64) (uint64, bool, error) {
	if m.ModRevision <= r {
		return m.Rev, true, nil
	}
	// binary search the key's own revs: revisions grow with revs
	lo, hi := m.FirstRev, m.Rev // answer in [lo, hi) or none
	found := false
	var best uint64
	for lo < hi {
		mid := lo + (hi-lo)/2
		e, err := v.loadEntry(fork, key, mid)
		if err != nil {
			return 0, false, err
		}
		if e == nil {
			return 0, false, fmt.Errorf("search %s/%s@%d: %w", fork, key, mid, errCorrupt)
		}
		if e.Revision <= r {
			best, found = mid, true
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if !found && m.Trimmed {
		// the rev that answered may have been dropped by compaction or retention
		return 0, false, &kv.CompactedError{CompactedRevision: v.compacted}
	}
	return best, found, nil
}

// revisionAtTime returns the newest revision committed at or before t, or 0 if none.
func (v *view) revisionAtTime(t time.Time) int64 {
	want := t.UnixNano()
	lo, hi := v.compacted, v.revision
	if lo < 1 {
		lo = 1
	}
	var best int64
	for lo <= hi {
		mid := lo + (hi-lo)/2
		b := v.revs.Get(revKey(mid))
		if b == nil {
			lo = mid + 1
			continue
		}
		ts, err := decodeRevTime(b)
		if err != nil || ts > want {
			hi = mid - 1
			continue
		}
		best = mid
		lo = mid + 1
	}
	return best
}

func (v *view) loadFork(name string) (*forkRecord, error) {
	b := v.forks.Get([]byte(name))
	if b == nil {
		return nil, nil
	}
	return decodeFork(b)
}

func (v *view) retention() (kv.Retention, error) {
	var r kv.Retention
	b := v.meta.Get(metaRetention)
	if b == nil {
		return r, nil
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("load retention: %w", err)
	}
	return r, nil
}
