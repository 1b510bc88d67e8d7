package query

import (
	"fmt"
	"strings"

	"github.com/mahou-go/mahou/bus"
)

// MaxDepth bounds how deeply logical ops may nest in one query.
const MaxDepth = 64

// Parse turns the wire form of a target query into a bus.Query. A nil v is the match-all
// query (every non-restricted client of every application), as in the original. Errors wrap
// bus.ErrInvalidQuery and say which part of the query is wrong.
func Parse(v any) (*bus.Query, error) {
	q := &bus.Query{}
	if v == nil {
		return q, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("target must be a map or null, got %s", bus.KindOf(v))
	}
	switch app := m["application"].(type) {
	case nil:
		q.AppFilter = bus.AppAny
	case string:
		q.AppFilter, q.Application = bus.AppExact, app
	default:
		// Legacy clients send an array of tags; tag discovery is gone, so it matches nobody.
		q.AppFilter = bus.AppNone
	}
	q.Restricted = truthy(m["restricted"])
	q.Droppable = truthy(m["droppable"])
	q.Optional = truthy(m["optional"])
	if key, ok := m["key"].(string); ok {
		q.Key, q.HasKey = key, true
	}
	ops, err := parseOps(m["ops"], "ops", 0)
	if err != nil {
		return nil, err
	}
	q.Ops = ops
	sel, err := parseSelector(m["selector"])
	if err != nil {
		return nil, err
	}
	q.Selector = sel
	return q, nil
}

// truthy coerces a flag as the original does: true or "true" is true, anything else false.
func truthy(v any) bool {
	return v == true || v == "true"
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", bus.ErrInvalidQuery, fmt.Sprintf(format, args...))
}

func parseOps(v any, where string, depth int) ([]bus.Op, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, invalid("%s: must be a list of ops, got %s", where, bus.KindOf(v))
	}
	ops := make([]bus.Op, 0, len(list))
	for i, raw := range list {
		parsed, err := parseOp(raw, fmt.Sprintf("%s[%d]", where, i), depth)
		if err != nil {
			return nil, err
		}
		ops = append(ops, parsed...)
	}
	return ops, nil
}

// parseOp parses one element of an ops list. A v2 op yields one bus.Op; a legacy v1 object may
// name several keys and operators, which are AND-ed, so it may yield several.
func parseOp(raw any, where string, depth int) ([]bus.Op, error) {
	if depth > MaxDepth {
		return nil, invalid("%s: ops nest deeper than %d levels", where, MaxDepth)
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, invalid("%s: an op must be a map, got %s", where, bus.KindOf(raw))
	}
	name, isV2 := m["op"].(string)
	if !isV2 {
		return parseV1(m, where, depth)
	}
	o := bus.Operator(name)
	switch {
	case o.IsLogical():
		if _, ok := m["with"].([]any); !ok {
			return nil, invalid("%s: %s needs \"with\": a list of ops", where, o)
		}
		with, err := parseOps(m["with"], where+".with", depth+1)
		if err != nil {
			return nil, err
		}
		return []bus.Op{{Op: o, With: with}}, nil
	case o.IsComparison():
		op, err := parseComparison(m, o, where)
		if err != nil {
			return nil, err
		}
		return []bus.Op{op}, nil
	}
	return nil, invalid("%s: unknown operator %q", where, name)
}

func parseComparison(m map[string]any, o bus.Operator, where string) (bus.Op, error) {
	path, err := ParsePath(m["path"])
	if err != nil {
		return bus.Op{}, invalid("%s.path: %v", where, err)
	}
	op := bus.Op{Op: o, Path: path}
	to, ok := m["to"].(map[string]any)
	if !ok {
		return bus.Op{}, invalid("%s.to: must be {\"value\": V} or {\"path\": P, \"default\": D}", where)
	}
	if v, ok := to["value"]; ok {
		op.Value = v
		return op, nil
	}
	if p, ok := to["path"]; ok {
		toPath, err := ParsePath(p)
		if err != nil {
			return bus.Op{}, invalid("%s.to.path: %v", where, err)
		}
		op.ToPath, op.ToDefault = toPath, to["default"]
		return op, nil
	}
	return bus.Op{}, invalid("%s.to: must be {\"value\": V} or {\"path\": P, \"default\": D}", where)
}

// ParsePath splits a path such as "/latency/http" into its segments. A path must be a string
// that starts with "/"; no escaping is supported, as in the original.
func ParsePath(v any) ([]string, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("must be a string starting with \"/\", got %s", bus.KindOf(v))
	}
	if !strings.HasPrefix(s, "/") {
		return nil, fmt.Errorf("must start with \"/\", got %q", s)
	}
	return strings.Split(s[1:], "/"), nil
}

// parseV1 translates a legacy v1 op: {"key": {"$op": value, ...}, ...} becomes one
// {"path": "/key", "op": "$op", "to": {"value": value}} per operator, and a logical operator
// applies to the one key ({"key": {"$and": [{"$gt": 1}, {"$lt": 9}]}}). A top-level logical
// key ({"$or": [v1 op, ...]}, as Singyeong.Net sends) combines whole v1 ops.
func parseV1(m map[string]any, where string, depth int) ([]bus.Op, error) {
	if len(m) == 0 {
		return nil, invalid("%s: an op must have \"op\" (v2) or be {\"key\": {\"$op\": value}} (v1)", where)
	}
	var ops []bus.Op
	for _, key := range sortedKeys(m) {
		if o := bus.Operator(key); o.IsLogical() {
			with, err := parseOps(m[key], where+"."+key, depth+1)
			if err != nil {
				return nil, err
			}
			ops = append(ops, bus.Op{Op: o, With: with})
			continue
		}
		kops, err := parseV1Key(key, m[key], where+"."+key, depth)
		if err != nil {
			return nil, err
		}
		ops = append(ops, kops...)
	}
	return ops, nil
}

// parseV1Key translates the operators applied to one metadata key in a v1 op.
func parseV1Key(key string, v any, where string, depth int) ([]bus.Op, error) {
	conds, ok := v.(map[string]any)
	if !ok || len(conds) == 0 {
		return nil, invalid("%s: a v1 op must map the key to {\"$op\": value}", where)
	}
	path := []string{key}
	var ops []bus.Op
	for _, name := range sortedKeys(conds) {
		o := bus.Operator(name)
		switch {
		case o.IsComparison():
			ops = append(ops, bus.Op{Op: o, Path: path, Value: conds[name]})
		case o.IsLogical():
			if depth+1 > MaxDepth {
				return nil, invalid("%s: ops nest deeper than %d levels", where, MaxDepth)
			}
			list, ok := conds[name].([]any)
			if !ok {
				return nil, invalid("%s.%s: must be a list of {\"$op\": value}", where, name)
			}
			var with []bus.Op
			for i, item := range list {
				sub, err := parseV1Key(key, item, fmt.Sprintf("%s.%s[%d]", where, name, i), depth+1)
				if err != nil {
					return nil, err
				}
				with = append(with, sub...)
			}
			ops = append(ops, bus.Op{Op: o, With: with})
		default:
			return nil, invalid("%s: unknown operator %q", where, name)
		}
	}
	return ops, nil
}

// parseSelector reads {"$min"|"$max"|"$avg": "key"}. With several keys the smallest one is
// used, and an unknown selector name is ignored, as in the original; an empty map is an error.
func parseSelector(v any) (*bus.Selector, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("selector: must be {\"$min\"|\"$max\"|\"$avg\": key} or null, got %s", bus.KindOf(v))
	}
	if len(m) == 0 {
		return nil, invalid("selector: must name one of $min, $max, $avg")
	}
	keys := sortedKeys(m)
	kind := bus.SelectorKind(keys[0])
	if kind != bus.SelectMin && kind != bus.SelectMax && kind != bus.SelectAvg {
		return nil, nil
	}
	key, ok := m[keys[0]].(string)
	if !ok {
		return nil, invalid("selector: %s needs a top-level metadata key (a string), got %s", kind, bus.KindOf(m[keys[0]]))
	}
	return &bus.Selector{Kind: kind, Key: key}, nil
}
