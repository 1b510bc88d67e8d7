package query

import "github.com/mahou-go/mahou/bus"

// set is a set of entries with O(1) add, remove and access by position (for uniform random
// choice).
type set struct {
	items []*entry
	pos   map[*entry]int
}

func newSet() *set { return &set{pos: make(map[*entry]int)} }

func (s *set) len() int { return len(s.items) }

func (s *set) add(e *entry) {
	if _, ok := s.pos[e]; ok {
		return
	}
	s.pos[e] = len(s.items)
	s.items = append(s.items, e)
}

func (s *set) remove(e *entry) {
	i, ok := s.pos[e]
	if !ok {
		return
	}
	last := len(s.items) - 1
	moved := s.items[last]
	s.items[i] = moved
	s.pos[moved] = i
	s.items[last] = nil
	s.items = s.items[:last]
	delete(s.pos, e)
}

// view is the concatenation of disjoint sets: the candidates a query is evaluated on.
type view struct {
	sets []*set
	n    int
}

func (v view) at(i int) *entry {
	for _, s := range v.sets {
		if i < len(s.items) {
			return s.items[i]
		}
		i -= len(s.items)
	}
	return nil
}

// candidates returns the smallest candidate view q's application filter and top-level
// equality ops allow. Every client q matches is in it; the caller evaluates q on each.
// ix.mu must be held.
func (ix *Index) candidates(q *bus.Query) view {
	var best view
	app := anyApp
	switch q.AppFilter {
	case bus.AppNone:
		return view{}
	case bus.AppExact:
		app = q.Application
		s := ix.apps[app]
		if s == nil {
			return view{}
		}
		best = view{sets: []*set{s}, n: s.len()}
	default:
		best = view{sets: []*set{ix.all}, n: ix.all.len()}
	}
	for i := range q.Ops {
		v, ok := ix.opView(app, &q.Ops[i])
		if ok && v.n < best.n {
			best = v
		}
		if best.n == 0 {
			return view{}
		}
	}
	return best
}

// opView returns the clients that can satisfy a top-level $eq or $in op on a single-segment
// path with scalar operands, using the equality sets; ok is false for any other op.
func (ix *Index) opView(app string, op *bus.Op) (view, bool) {
	if len(op.Path) != 1 || op.ToPath != nil || unindexed[op.Path[0]] {
		return view{}, false
	}
	var operands []any
	switch op.Op {
	case bus.OpEq:
		operands = []any{op.Value}
	case bus.OpIn:
		list, ok := op.Value.([]any)
		if !ok {
			return view{}, false
		}
		operands = list
	default:
		return view{}, false
	}
	var v view
	var seen map[scalar]bool
	if len(operands) > 1 {
		seen = make(map[scalar]bool, len(operands))
	}
	for _, operand := range operands {
		s, ok := toScalar(operand)
		if !ok {
			// A list or map operand can only equal a list or map value, which is not indexed:
			// fall back to the application's candidates.
			return view{}, false
		}
		if seen[s] {
			continue
		}
		if seen != nil {
			seen[s] = true
		}
		if st := ix.eq[eqKey{app: app, key: op.Path[0], val: s}]; st != nil {
			v.sets = append(v.sets, st)
			v.n += st.len()
		}
	}
	return v, true
}
