package boltstore

import (
	"bytes"

	"github.com/mahou-go/mahou/kv"
)

// keysWithPrefix lists the keys of fork starting with prefix, deleted ones included.
func (v *view) keysWithPrefix(fork, prefix string) []string {
	start := keysKey(fork, prefix)
	fp := forkPrefix(fork)
	var out []string
	c := v.keys.Cursor()
	for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, start); k, _ = c.Next() {
		out = append(out, string(k[len(fp):]))
	}
	return out
}

type forkPlan struct {
	key    string
	src    *keyMeta
	rev    uint64
	size   uint64
	depth  uint64
	srcAnc []kv.Ancestor
	dst    *keyMeta
}

func (a *applyTx) fork(c kv.Fork) (kv.Result, error) {
	if err := validForkPair(c.From, c.To); err != nil {
		return kv.Result{Err: err}, nil
	}
	if c.From == c.To {
		return kv.Result{Err: kv.Invalid("invalid_fork", "fork %q onto itself: name another target fork", c.From)}, nil
	}
	at := c.Revision
	if at > a.revision {
		return kv.Result{Err: kv.ErrFutureRevision}, nil
	}
	if at > 0 && at < a.compacted {
		return kv.Result{Err: &kv.CompactedError{CompactedRevision: a.compacted}}, nil
	}
	keys := []string{c.Key}
	if c.IsPrefix {
		keys = a.keysWithPrefix(c.From, c.Prefix)
	} else if err := kv.ValidateKey(c.Key, int(^uint(0)>>1)); err != nil {
		return kv.Result{Err: err}, nil
	}
	if len(keys) > kv.DefaultMaxKeysPerCommand {
		return kv.Result{Err: kv.ErrTooManyKeys}, nil
	}
	plans, exists, err := a.planFork(c, keys, at)
	if err != nil {
		if isDomain(err) {
			return kv.Result{Err: err}, nil
		}
		return kv.Result{}, err
	}
	if len(exists) > 0 {
		return kv.Result{Err: &kv.ExistsError{Keys: exists}}, nil
	}
	if !c.IsPrefix && len(plans) == 0 {
		return kv.Result{Err: kv.ErrNotFound}, nil
	}
	var res kv.Result
	for _, p := range plans {
		rev, err := a.applyFork(c.From, c.To, p)
		if err != nil {
			return kv.Result{}, err
		}
		res.Keys = append(res.Keys, kv.KeyResult{Key: p.key, Rev: rev, Outcome: "forked"})
	}
	if len(plans) > 0 {
		from := at
		if from == 0 {
			from = a.revision
		}
		pt := kv.ForkPoint{From: c.From, Key: c.Key, Prefix: c.Prefix, IsPrefix: c.IsPrefix, FromRevision: from, Revision: a.next()}
		if a.forkPoints == nil {
			a.forkPoints = make(map[string][]kv.ForkPoint)
		}
		a.forkPoints[c.To] = append(a.forkPoints[c.To], pt)
	}
	if len(res.Keys) == 1 && !c.IsPrefix {
		res.Rev = res.Keys[0].Rev
	}
	return res, nil
}

func validForkPair(from, to string) error {
	if err := kv.ValidateFork(from); err != nil {
		return err
	}
	return kv.ValidateFork(to)
}

// planFork reads everything a fork needs before anything is written, so a refused fork writes
// nothing.
func (a *applyTx) planFork(c kv.Fork, keys []string, at int64) ([]forkPlan, []string, error) {
	var plans []forkPlan
	var exists []string
	for _, key := range keys {
		src, err := a.loadMeta(c.From, key)
		if err != nil {
			return nil, nil, err
		}
		if src == nil {
			continue
		}
		rev, ok := src.Rev, true
		if at > 0 {
			rev, ok, err = a.revAt(c.From, key, src, at)
			if err != nil {
				return nil, nil, err
			}
		}
		if !ok {
			continue
		}
		loc, err := a.locate(c.From, key, src, rev)
		if err != nil {
			return nil, nil, err
		}
		if loc.e.Deleted {
			continue
		}
		dst, err := a.loadMeta(c.To, key)
		if err != nil {
			return nil, nil, err
		}
		if dst != nil && !dst.Deleted && !c.Force {
			exists = append(exists, key)
			continue
		}
		plans = append(plans, forkPlan{key: key, src: src, rev: rev, size: loc.e.Size,
			depth: loc.e.Depth, srcAnc: loc.e.Ancestors, dst: dst})
	}
	return plans, exists, nil
}

func (a *applyTx) applyFork(from, to string, p forkPlan) (uint64, error) {
	anc := append([]kv.Ancestor{{Fork: from, Rev: p.rev}}, p.srcAnc...)
	target := ref{Fork: from, Rev: p.rev}
	rev, dm, err := a.writeRef(to, p.key, p.dst, target, p.size, p.depth, kv.OpFork, anc)
	if err != nil {
		return 0, err
	}
	dm.Links = setLink(dm.Links, link{Fork: from, TheirRev: p.rev, MyRev: rev})
	if err := a.putMeta(to, p.key, dm); err != nil {
		return 0, err
	}
	p.src.Dependents = addDependent(p.src.Dependents, ref{Fork: to, Rev: p.rev})
	p.src.Links = setLink(p.src.Links, link{Fork: to, TheirRev: rev, MyRev: p.rev})
	return rev, a.putMeta(from, p.key, p.src)
}

// state is one side of a merge: a key's value, or its absence.
type state struct {
	exists bool
	value  []byte
}

func (s state) same(o state) bool {
	return s.exists == o.exists && (!s.exists || bytes.Equal(s.value, o.value))
}

// mergePlan is the decision for one key.
type mergePlan struct {
	key      string
	src, dst *keyMeta
	// write is false when the target keeps its state.
	write bool
	// moveLink records that the target now incorporates the source's current rev, so the
	// next merge uses it as base. It stays false when the source had nothing new.
	moveLink bool
	result   state
	outcome  string
}

func (a *applyTx) merge(c kv.Merge) (kv.Result, error) {
	if err := validForkPair(c.From, c.To); err != nil {
		return kv.Result{Err: err}, nil
	}
	keys := []string{c.Key}
	if c.IsPrefix {
		keys = a.keysWithPrefix(c.From, c.Prefix)
	} else if err := kv.ValidateKey(c.Key, int(^uint(0)>>1)); err != nil {
		return kv.Result{Err: err}, nil
	}
	if len(keys) > kv.DefaultMaxKeysPerCommand {
		return kv.Result{Err: kv.ErrTooManyKeys}, nil
	}
	var plans []mergePlan
	var conflicts []kv.Conflict
	for _, key := range keys {
		p, conflict, err := a.planMerge(c, key)
		if err != nil {
			if isDomain(err) || err == kv.ErrSourceNotFound || err == kv.ErrTargetNotFound {
				return kv.Result{Err: err}, nil
			}
			return kv.Result{}, err
		}
		if conflict != nil {
			conflicts = append(conflicts, *conflict)
			continue
		}
		plans = append(plans, p)
	}
	if len(conflicts) > 0 {
		return kv.Result{Err: &kv.ConflictError{Conflicts: conflicts}}, nil
	}
	var res kv.Result
	for _, p := range plans {
		rev, err := a.applyMerge(c.From, c.To, p)
		if err != nil {
			return kv.Result{}, err
		}
		res.Keys = append(res.Keys, kv.KeyResult{Key: p.key, Rev: rev, Outcome: p.outcome})
	}
	if len(res.Keys) == 1 && !c.IsPrefix {
		res.Rev = res.Keys[0].Rev
	}
	return res, nil
}

// planMerge decides one key. It returns a conflict, or a plan, reading only.
func (a *applyTx) planMerge(c kv.Merge, key string) (mergePlan, *kv.Conflict, error) {
	src, err := a.loadMeta(c.From, key)
	if err != nil {
		return mergePlan{}, nil, err
	}
	if src == nil || (c.RequireTarget && src.Deleted) {
		return mergePlan{}, nil, kv.ErrSourceNotFound
	}
	dst := src
	if c.To != c.From {
		if dst, err = a.loadMeta(c.To, key); err != nil {
			return mergePlan{}, nil, err
		}
	}
	if c.RequireTarget && (dst == nil || dst.Deleted) {
		return mergePlan{}, nil, kv.ErrTargetNotFound
	}
	p := mergePlan{key: key, src: src, dst: dst}
	srcState, err := a.metaState(c.From, key, src)
	if err != nil {
		return p, nil, err
	}
	dstState, err := a.metaState(c.To, key, dst)
	if err != nil {
		return p, nil, err
	}
	if c.Strategy == kv.MergeSourceWins {
		p.result, p.write, p.moveLink, p.outcome = srcState, true, true, "overwritten"
		if !c.RequireTarget && srcState.same(dstState) {
			p.write, p.outcome = false, "unchanged"
		}
		return p, nil, nil
	}
	return a.planThreeWay(c, p, srcState, dstState)
}

func (a *applyTx) planThreeWay(c kv.Merge, p mergePlan, srcState, dstState state) (mergePlan, *kv.Conflict, error) {
	var l link
	hasBase := false
	if p.dst != nil {
		l, hasBase = findLink(p.dst.Links, c.From)
	}
	srcChanged, dstChanged := true, dstState.exists
	if hasBase {
		var err error
		if srcChanged, err = a.changedSince(c.From, p.key, p.src, l.TheirRev, srcState); err != nil {
			return p, nil, err
		}
		if dstChanged, err = a.changedSince(c.To, p.key, p.dst, l.MyRev, dstState); err != nil {
			return p, nil, err
		}
	} else if !srcState.exists {
		// nothing to bring over from a key that never shared history and is gone
		srcChanged = false
	}
	switch {
	case !srcChanged:
		p.outcome = "unchanged"
	case !dstChanged:
		p.result, p.write, p.moveLink = srcState, true, true
		p.outcome = "fast-forward"
		if !dstState.exists && srcState.exists {
			p.outcome = "added"
		} else if !srcState.exists {
			p.outcome = "deleted"
		}
	case srcState.same(dstState):
		p.outcome, p.moveLink = "unchanged", true
	case c.Strategy == kv.MergeTargetWins:
		p.outcome, p.moveLink = "kept-target", true
	default:
		cf := &kv.Conflict{Key: p.key, SourceRev: p.src.Rev, HasBase: hasBase, BaseRev: l.TheirRev}
		if p.dst != nil {
			cf.TargetRev = p.dst.Rev
		}
		return p, cf, nil
	}
	return p, nil, nil
}

// changedSince reports whether (fork, key) differs from its state at rev.
func (a *applyTx) changedSince(fork, key string, m *keyMeta, rev uint64, now state) (bool, error) {
	if m == nil {
		return false, nil
	}
	if m.Rev == rev {
		return false, nil
	}
	val, deleted, err := a.value(fork, key, m, rev)
	if err != nil {
		return false, err
	}
	return !now.same(state{exists: !deleted, value: val}), nil
}

func (a *applyTx) metaState(fork, key string, m *keyMeta) (state, error) {
	if m == nil || m.Deleted {
		return state{}, nil
	}
	val, _, err := a.currentValue(fork, key, m)
	return state{exists: true, value: val}, err
}

func (a *applyTx) applyMerge(from, to string, p mergePlan) (uint64, error) {
	dst := p.dst
	rev := uint64(0)
	if dst != nil {
		rev = dst.Rev
	}
	if p.write {
		var anc []kv.Ancestor
		if dst != nil {
			anc = dst.Ancestors
		}
		anc = append([]kv.Ancestor{{Fork: from, Rev: p.src.Rev}}, anc...)
		var err error
		if rev, err = a.writeValue(to, p.key, dst, p.result.value, !p.result.exists, kv.OpMerge, anc); err != nil {
			return 0, err
		}
		if from == to {
			return rev, nil
		}
		if dst, err = a.loadMeta(to, p.key); err != nil {
			return 0, err
		}
	}
	if dst == nil || from == to || !p.moveLink {
		return rev, nil
	}
	dst.Links = setLink(dst.Links, link{Fork: from, TheirRev: p.src.Rev, MyRev: rev})
	if err := a.putMeta(to, p.key, dst); err != nil {
		return 0, err
	}
	p.src.Links = setLink(p.src.Links, link{Fork: to, TheirRev: rev, MyRev: p.src.Rev})
	return rev, a.putMeta(from, p.key, p.src)
}
