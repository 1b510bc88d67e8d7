package query

import (
	"strconv"

	"github.com/mahou-go/mahou/bus"
)

// Match reports whether client c is a target of query q: its application passes q's filter,
// it is not restricted unless q includes restricted clients, and every op holds.
func Match(q *bus.Query, c *bus.Client) bool {
	switch q.AppFilter {
	case bus.AppNone:
		return false
	case bus.AppExact:
		if c.Key.App != q.Application {
			return false
		}
	}
	if c.Restricted && !q.Restricted {
		return false
	}
	return MatchOps(q.Ops, c.Metadata)
}

// MatchOps reports whether every op holds on meta.
func MatchOps(ops []bus.Op, meta map[string]any) bool {
	for i := range ops {
		if !eval(&ops[i], meta) {
			return false
		}
	}
	return true
}

// eval evaluates one op. A comparison whose path is missing on the client is false, whatever
// the operator ($ne and the negated operators included), as in the original.
func eval(op *bus.Op, meta map[string]any) bool {
	switch op.Op {
	case bus.OpAnd:
		return MatchOps(op.With, meta)
	case bus.OpOr:
		return anyHolds(op.With, meta)
	case bus.OpNor:
		return !anyHolds(op.With, meta)
	}
	v, ok := Lookup(meta, op.Path)
	if !ok {
		return false
	}
	operand := op.Value
	if op.ToPath != nil {
		if other, ok := Lookup(meta, op.ToPath); ok {
			operand = other
		} else {
			operand = op.ToDefault
		}
	}
	return compareOp(op.Op, v, operand)
}

func anyHolds(ops []bus.Op, meta map[string]any) bool {
	for i := range ops {
		if eval(&ops[i], meta) {
			return true
		}
	}
	return false
}

func compareOp(o bus.Operator, v, operand any) bool {
	switch o {
	case bus.OpEq:
		return Equal(v, operand)
	case bus.OpNe:
		return !Equal(v, operand)
	case bus.OpGt:
		return Compare(v, operand) > 0
	case bus.OpGte:
		return Compare(v, operand) >= 0
	case bus.OpLt:
		return Compare(v, operand) < 0
	case bus.OpLte:
		return Compare(v, operand) <= 0
	case bus.OpIn:
		return in(v, operand)
	case bus.OpNin:
		return !in(v, operand)
	case bus.OpContains:
		return contains(v, operand)
	case bus.OpNContains:
		return !contains(v, operand)
	}
	return false
}

// in reports whether v is an element of the list set, or, for the original's map form, one of
// the map's keys.
func in(v, set any) bool {
	switch s := set.(type) {
	case []any:
		for _, e := range s {
			if Equal(v, e) {
				return true
			}
		}
	case map[string]any:
		k, ok := v.(string)
		if ok {
			_, ok = s[k]
		}
		return ok
	}
	return false
}

// contains reports whether the list v holds elem, or whether the map v has the key elem. A
// string never contains anything, as in the original.
func contains(v, elem any) bool {
	switch s := v.(type) {
	case []any:
		for _, e := range s {
			if Equal(e, elem) {
				return true
			}
		}
	case map[string]any:
		k, ok := elem.(string)
		if ok {
			_, ok = s[k]
		}
		return ok
	}
	return false
}

// Lookup returns the value at path in meta. A segment indexes a list only when it is all
// digits and the current value is a list; otherwise it is a map key.
func Lookup(meta map[string]any, path []string) (any, bool) {
	var cur any = meta
	for _, seg := range path {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[seg]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, ok := listIndex(seg)
			if !ok || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func listIndex(seg string) (int, bool) {
	if seg == "" {
		return 0, false
	}
	for i := 0; i < len(seg); i++ {
		if seg[i] < '0' || seg[i] > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(seg)
	return i, err == nil
}
