package boltstore

import (
	"errors"
	"slices"

	"github.com/mahou-go/mahou/kv"
	"github.com/mahou-go/mahou/kv/history"
)

func (a *applyTx) put(c kv.Put) (kv.Result, error) {
	if err := validKey(c.Fork, c.Key); err != nil {
		return kv.Result{Err: err}, nil
	}
	m, err := a.loadMeta(c.Fork, c.Key)
	if err != nil {
		return kv.Result{}, err
	}
	if err := checkPrecondition(m, c.If); err != nil {
		return kv.Result{Err: err}, nil
	}
	var anc []kv.Ancestor
	if m != nil {
		anc = m.Ancestors
	}
	rev, err := a.writeValue(c.Fork, c.Key, m, c.Value, false, kv.OpPut, anc)
	return kv.Result{Rev: rev}, err
}

func (a *applyTx) delete(c kv.Delete) (kv.Result, error) {
	if err := validKey(c.Fork, c.Key); err != nil {
		return kv.Result{Err: err}, nil
	}
	m, err := a.loadMeta(c.Fork, c.Key)
	if err != nil {
		return kv.Result{}, err
	}
	if err := checkPrecondition(m, c.If); err != nil {
		return kv.Result{Err: err}, nil
	}
	if m == nil || (m.Deleted && !c.Purge) {
		return kv.Result{Err: kv.ErrNotFound}, nil
	}
	if c.Purge {
		return kv.Result{Rev: m.Rev}, a.purge(c.Fork, c.Key, m)
	}
	rev, err := a.writeValue(c.Fork, c.Key, m, nil, true, kv.OpDelete, m.Ancestors)
	return kv.Result{Rev: rev}, err
}

func (a *applyTx) revert(c kv.Revert) (kv.Result, error) {
	if err := validKey(c.Fork, c.Key); err != nil {
		return kv.Result{Err: err}, nil
	}
	m, err := a.loadMeta(c.Fork, c.Key)
	if err != nil {
		return kv.Result{}, err
	}
	if m == nil {
		return kv.Result{Err: kv.ErrNotFound}, nil
	}
	if err := checkPrecondition(m, c.If); err != nil {
		return kv.Result{Err: err}, nil
	}
	val, deleted, err := a.value(c.Fork, c.Key, m, c.ToRev)
	if err != nil {
		if isDomain(err) {
			return kv.Result{Err: err}, nil
		}
		return kv.Result{}, err
	}
	rev, err := a.writeValue(c.Fork, c.Key, m, val, deleted, kv.OpRevert, m.Ancestors)
	return kv.Result{Rev: rev}, err
}

func validKey(fork, key string) error {
	if err := kv.ValidateFork(fork); err != nil {
		return err
	}
	// the configured size limit is enforced before proposing; the state machine only refuses
	// what it cannot store
	return kv.ValidateKey(key, int(^uint(0)>>1))
}

func checkPrecondition(m *keyMeta, p kv.Precondition) error {
	exists := m != nil && !m.Deleted
	var cur uint64
	if m != nil {
		cur = m.Rev
	}
	if p.MustNotExist && exists {
		return &kv.PreconditionError{Exists: true, CurrentRev: cur}
	}
	if p.HasMatchRev && (!exists || cur != p.MatchRev) {
		return &kv.PreconditionError{Exists: exists, CurrentRev: cur}
	}
	return nil
}

// nextRev is the rev the next write to m gets: 0 for a new key.
func nextRev(m *keyMeta) uint64 {
	if m == nil {
		return 0
	}
	return m.Rev + 1
}

// maxDepth is the delta-chain bound for a value of size n.
func (a *applyTx) maxDepth(n int) uint64 {
	d := a.s.cfg.MaxRebuildBytes / max(n, 1)
	return uint64(max(1, min(d, a.s.cfg.MaxDepth)))
}

// writeValue appends a rev holding val (or a tombstone) to (fork, key), whose meta is m (nil
// for a new key), updates and saves m, and returns the new rev. m's links and dependents are
// kept as the caller left them.
func (a *applyTx) writeValue(fork, key string, m *keyMeta, val []byte, deleted bool, op kv.Op, anc []kv.Ancestor) (uint64, error) {
	rev := nextRev(m)
	wasLive := m != nil && !m.Deleted
	if m == nil {
		m = &keyMeta{FirstRev: rev}
	}
	created := m.CreatedRevision
	if !wasLive {
		created = a.next()
	}
	e := &entry{Op: op, Deleted: deleted, Revision: a.next(), CreatedRevision: created, Ancestors: anc}
	prevDepth, prevChain := m.Depth, m.ChainBytes
	m.Depth, m.ChainBytes = 0, 0
	if deleted {
		e.Kind = kindEmpty
	} else {
		e.Kind, e.Data, e.Size = kindKeyframe, val, uint64(len(val))
		if wasLive && len(val) > 0 {
			prev, _, err := a.currentValue(fork, key, m)
			if err != nil {
				return 0, err
			}
			if len(prev) > 0 {
				d := history.Delta(prev, val)
				depth, chain := prevDepth+1, prevChain+uint64(len(d))
				if len(d) < len(val) && depth <= a.maxDepth(len(val)) && chain <= uint64(max(len(val), 64)) {
					e.Kind, e.Data = kindDelta, d
					m.Depth, m.ChainBytes = depth, chain
				}
			}
		}
	}
	e.Depth = m.Depth
	if err := a.putEntry(fork, key, rev, e); err != nil {
		return 0, err
	}
	m.Rev, m.Op, m.Deleted = rev, op, deleted
	m.ModRevision, m.CreatedRevision = a.next(), created
	m.Ancestors = anc
	m.ValueRef, m.Current = false, ref{}
	m.Value = nil
	if !deleted {
		m.Value = val
	}
	if err := a.putMeta(fork, key, m); err != nil {
		return 0, err
	}
	a.liveChange(fork, wasLive, !deleted)
	a.emit(event{Op: op, Deleted: deleted, Fork: fork, Key: key, Rev: rev})
	return rev, nil
}

func (a *applyTx) liveChange(fork string, was, now bool) {
	switch {
	case !was && now:
		a.live(fork, 1)
	case was && !now:
		a.live(fork, -1)
	}
}

// writeRef appends a rev to (fork, key) whose value is another fork's rev, target, with the
// given size and rebuild depth. A new key inherits target's older revs as its base.
func (a *applyTx) writeRef(fork, key string, m *keyMeta, target ref, size, depth uint64, op kv.Op, anc []kv.Ancestor) (uint64, *keyMeta, error) {
	wasLive := m != nil && !m.Deleted
	var rev uint64
	if m == nil {
		rev = target.Rev
		m = &keyMeta{FirstRev: rev, HasBase: rev > 0, Base: ref{Fork: target.Fork, Rev: rev}}
	} else {
		rev = m.Rev + 1
	}
	created := m.CreatedRevision
	if !wasLive {
		created = a.next()
	}
	e := &entry{Op: op, Kind: kindRef, Ref: target, Revision: a.next(), CreatedRevision: created,
		Size: size, Depth: depth, Ancestors: anc}
	if err := a.putEntry(fork, key, rev, e); err != nil {
		return 0, nil, err
	}
	m.Rev, m.Op, m.Deleted = rev, op, false
	m.ModRevision, m.CreatedRevision = a.next(), created
	m.Depth, m.ChainBytes = depth, 0
	m.Ancestors = anc
	m.ValueRef, m.Current, m.Value = true, target, nil
	a.liveChange(fork, wasLive, true)
	a.emit(event{Op: op, Fork: fork, Key: key, Rev: rev})
	return rev, m, nil
}

// purge erases (fork, key)'s history. Forks whose history refers to it keep their values: the
// referenced revs are copied into them, and the history they shared from before the fork is
// gone with this key's.
func (a *applyTx) purge(fork, key string, m *keyMeta) error {
	for _, d := range m.Dependents {
		if err := a.detachDependent(fork, key, m, d); err != nil {
			return err
		}
	}
	for _, l := range m.Links {
		if err := a.editMeta(l.Fork, key, func(om *keyMeta) { om.Links = removeLink(om.Links, fork) }); err != nil {
			return err
		}
	}
	if m.HasBase {
		if err := a.dropDependent(m.Base.Fork, key, ref{Fork: fork, Rev: m.Base.Rev}); err != nil {
			return err
		}
	}
	prefix := histPrefix(fork, key)
	c := a.hist.Cursor()
	var keys [][]byte
	for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
		keys = append(keys, slices.Clone(k))
		e, err := decodeEntry(v)
		if err != nil {
			return err
		}
		if e.Kind == kindRef {
			if err := a.dropDependent(e.Ref.Fork, key, ref{Fork: fork, Rev: e.Ref.Rev}); err != nil {
				return err
			}
		}
	}
	for _, k := range keys {
		if err := a.hist.Delete(k); err != nil {
			return err
		}
	}
	if err := a.keys.Delete(keysKey(fork, key)); err != nil {
		return err
	}
	a.liveChange(fork, !m.Deleted, false)
	a.emit(event{Op: kv.OpDelete, Deleted: true, Purged: true, Fork: fork, Key: key, Rev: m.Rev})
	return nil
}

// detachDependent makes dependent fork d.Fork stop referring to (fork, key): refs to
// (fork, key)@d.Rev become keyframes holding that value, and a base in fork is dropped.
func (a *applyTx) detachDependent(fork, key string, m *keyMeta, d ref) error {
	dm, err := a.loadMeta(d.Fork, key)
	if err != nil || dm == nil {
		return err
	}
	val, _, err := a.value(fork, key, m, d.Rev)
	if err != nil {
		return err
	}
	target := ref{Fork: fork, Rev: d.Rev}
	if err := a.materializeRefs(d.Fork, key, dm, target, val); err != nil {
		return err
	}
	if dm.ValueRef && dm.Current == target {
		dm.ValueRef, dm.Current, dm.Value = false, ref{}, val
	}
	if dm.HasBase && dm.Base.Fork == fork {
		dm.HasBase, dm.Base, dm.Trimmed = false, ref{}, true
	}
	dm.Links = removeLink(dm.Links, fork)
	return a.putMeta(d.Fork, key, dm)
}

// materializeRefs rewrites every entry of (fork, key) that refers to target as a keyframe.
func (a *applyTx) materializeRefs(fork, key string, m *keyMeta, target ref, val []byte) error {
	for rev := m.FirstRev; rev <= m.Rev; rev++ {
		e, err := a.loadEntry(fork, key, rev)
		if err != nil {
			return err
		}
		if e == nil || e.Kind != kindRef || e.Ref != target {
			continue
		}
		e.Kind, e.Ref, e.Data, e.Depth = kindKeyframe, ref{}, val, 0
		if err := a.putEntry(fork, key, rev, e); err != nil {
			return err
		}
	}
	return nil
}

// editMeta loads (fork, key)'s meta, applies fn and saves it; a missing meta is skipped.
func (a *applyTx) editMeta(fork, key string, fn func(*keyMeta)) error {
	m, err := a.loadMeta(fork, key)
	if err != nil || m == nil {
		return err
	}
	fn(m)
	return a.putMeta(fork, key, m)
}

func (a *applyTx) dropDependent(fork, key string, d ref) error {
	return a.editMeta(fork, key, func(m *keyMeta) {
		if i := slices.Index(m.Dependents, d); i >= 0 {
			m.Dependents = slices.Delete(m.Dependents, i, i+1)
		}
	})
}

func addDependent(deps []ref, d ref) []ref {
	i, found := slices.BinarySearchFunc(deps, d, compareRef)
	if found {
		return deps
	}
	return slices.Insert(deps, i, d)
}

func compareRef(x, y ref) int {
	if x.Fork != y.Fork {
		if x.Fork < y.Fork {
			return -1
		}
		return 1
	}
	switch {
	case x.Rev < y.Rev:
		return -1
	case x.Rev > y.Rev:
		return 1
	}
	return 0
}

func setLink(links []link, l link) []link {
	i, found := slices.BinarySearchFunc(links, l.Fork, func(x link, f string) int {
		switch {
		case x.Fork < f:
			return -1
		case x.Fork > f:
			return 1
		}
		return 0
	})
	if found {
		links[i] = l
		return links
	}
	return slices.Insert(links, i, l)
}

func findLink(links []link, fork string) (link, bool) {
	for _, l := range links {
		if l.Fork == fork {
			return l, true
		}
	}
	return link{}, false
}

func removeLink(links []link, fork string) []link {
	return slices.DeleteFunc(links, func(l link) bool { return l.Fork == fork })
}

// isDomain reports whether err is a domain error (returned to the client) rather than an
// internal failure.
func isDomain(err error) bool {
	return errors.Is(err, kv.ErrRevNotFound) || errors.Is(err, kv.ErrNotFound) || errors.Is(err, kv.ErrCompacted)
}
