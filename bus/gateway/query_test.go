package gateway_test

import (
	"reflect"
	"testing"

	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/wire"
)

// opsFixture connects three clients of app "ops" with varied metadata and returns an observer
// (of another app) to query with.
func opsFixture(t *testing.T, srv *gateway.Server, enc wire.Encoding) *rawClient {
	t.Helper()
	connect(t, srv, enc, "ops", "a", map[string]any{"metadata": meta(
		"lat", "integer", int64(50), "ratio", "float", 0.5, "name", "string", "alpha",
		"tags", "list", []any{"x", "y"}, "cfg", "map", map[string]any{"region": "eu", "ports": []any{int64(80), int64(443)}},
		"key2", "string", "v", "limit", "integer", int64(60), "ver", "version", "10.0.0",
	)})
	connect(t, srv, enc, "ops", "b", map[string]any{"metadata": meta(
		"lat", "integer", int64(150), "ratio", "float", 1.0, "name", "string", "beta",
		"tags", "list", []any{"y"}, "cfg", "map", map[string]any{"region": "us", "ports": []any{int64(8080)}},
		"limit", "integer", int64(100), "ver", "version", "2.0.0",
	)})
	connect(t, srv, enc, "ops", "c", map[string]any{"metadata": meta(
		"lat", "float", 100.0, "name", "string", "gamma", "tags", "list", []any{}, "limit", "integer", int64(90),
	)})
	return connect(t, srv, enc, "observer", "o", nil)
}

func cmp(path, op string, v any) map[string]any {
	return map[string]any{"path": path, "op": op, "to": map[string]any{"value": v}}
}

func logical(op string, with ...any) map[string]any {
	return map[string]any{"op": op, "with": with}
}

func opsQuery(ops ...any) map[string]any {
	return map[string]any{"application": "ops", "ops": ops}
}

// operatorCases are the query language, operator by operator, with the clients each matches.
var operatorCases = []struct {
	name  string
	query any
	want  []string
}{
	{"$eq int matches float", opsQuery(cmp("/lat", "$eq", int64(100))), []string{"c"}},
	{"$eq float matches int", opsQuery(cmp("/lat", "$eq", 50.0)), []string{"a"}},
	{"$ne", opsQuery(cmp("/lat", "$ne", int64(50))), []string{"b", "c"}},
	{"$ne missing path never matches", opsQuery(cmp("/cfg/region", "$ne", "eu")), []string{"b"}},
	{"$gt", opsQuery(cmp("/lat", "$gt", int64(50))), []string{"b", "c"}},
	{"$gte", opsQuery(cmp("/lat", "$gte", int64(100))), []string{"b", "c"}},
	{"$lt", opsQuery(cmp("/lat", "$lt", int64(100))), []string{"a"}},
	{"$lte", opsQuery(cmp("/lat", "$lte", int64(100))), []string{"a", "c"}},
	{"$in", opsQuery(cmp("/name", "$in", []any{"alpha", "gamma", "zeta"})), []string{"a", "c"}},
	{"$in numbers", opsQuery(cmp("/lat", "$in", []any{int64(50), int64(100)})), []string{"a", "c"}},
	{"$nin", opsQuery(cmp("/name", "$nin", []any{"alpha"})), []string{"b", "c"}},
	{"$contains", opsQuery(cmp("/tags", "$contains", "y")), []string{"a", "b"}},
	{"$contains map key", opsQuery(cmp("/cfg", "$contains", "ports")), []string{"a", "b"}},
	{"$ncontains", opsQuery(cmp("/tags", "$ncontains", "x")), []string{"b", "c"}},
	{"$and", opsQuery(logical("$and", cmp("/lat", "$gt", int64(10)), cmp("/name", "$ne", "beta"))), []string{"a", "c"}},
	{"$and empty", opsQuery(logical("$and")), []string{"a", "b", "c"}},
	{"$or", opsQuery(logical("$or", cmp("/lat", "$lt", int64(60)), cmp("/name", "$eq", "gamma"))), []string{"a", "c"}},
	{"$or empty", opsQuery(logical("$or")), []string{}},
	{"$nor", opsQuery(logical("$nor", cmp("/lat", "$lt", int64(60)))), []string{"b", "c"}},
	{"nested logic", opsQuery(logical("$or", logical("$and", cmp("/lat", "$gt", int64(60)), cmp("/lat", "$lt", int64(120))), cmp("/name", "$eq", "beta"))), []string{"b", "c"}},
	{"top-level ops are AND-ed", opsQuery(cmp("/lat", "$gt", int64(10)), cmp("/tags", "$contains", "x")), []string{"a"}},
	{"list index in a map", opsQuery(cmp("/cfg/ports/1", "$eq", int64(443))), []string{"a"}},
	{"index past the end", opsQuery(cmp("/cfg/ports/5", "$eq", int64(443))), []string{}},
	{"digit in a map key", opsQuery(cmp("/key2", "$eq", "v")), []string{"a"}},
	{"whole list equality", opsQuery(cmp("/tags", "$eq", []any{"y"})), []string{"b"}},
	{"map equality", opsQuery(cmp("/cfg", "$eq", map[string]any{"region": "us", "ports": []any{int64(8080)}})), []string{"b"}},
	{"string order", opsQuery(cmp("/name", "$gt", "b")), []string{"b", "c"}},
	{"numbers sort before strings", opsQuery(cmp("/name", "$gt", int64(5))), []string{"a", "b", "c"}},
	{"versions compare as strings", opsQuery(cmp("/ver", "$lt", "2.0.0")), []string{"a"}},
	{"path to path", opsQuery(map[string]any{"path": "/lat", "op": "$lt", "to": map[string]any{"path": "/limit", "default": int64(0)}}), []string{"a"}},
	{"path to path default", opsQuery(map[string]any{"path": "/lat", "op": "$lt", "to": map[string]any{"path": "/nope", "default": int64(120)}}), []string{"a", "c"}},
	{"python's extra type key in to", opsQuery(map[string]any{"path": "/name", "op": "$eq", "to": map[string]any{"type": "string", "value": "beta"}}), []string{"b"}},
	{"v1 op", opsQuery(map[string]any{"lat": map[string]any{"$lte": int64(100)}}), []string{"a", "c"}},
	{"v1 logical on a key", opsQuery(map[string]any{"lat": map[string]any{"$and": []any{map[string]any{"$gt": int64(60)}, map[string]any{"$lt": int64(200)}}}}), []string{"b", "c"}},
	{"v1 top-level $or", opsQuery(map[string]any{"$or": []any{map[string]any{"name": map[string]any{"$eq": "beta"}}, map[string]any{"lat": map[string]any{"$eq": int64(50)}}}}), []string{"a", "b"}},
	{"application filter", map[string]any{"application": "observer"}, []string{"o"}},
	{"no application: every app", map[string]any{"ops": []any{cmp("/lat", "$gte", int64(0))}}, []string{"a", "b", "c"}},
	{"selector $min", map[string]any{"application": "ops", "selector": map[string]any{"$min": "lat"}}, []string{"a"}},
	{"selector $max", map[string]any{"application": "ops", "selector": map[string]any{"$max": "lat"}}, []string{"b"}},
	{"selector $avg", map[string]any{"application": "ops", "selector": map[string]any{"$avg": "lat"}}, []string{"c"}},
	{"selector $max: a missing key sorts above numbers", map[string]any{"application": "ops", "selector": map[string]any{"$max": "ratio"}}, []string{"c"}},
	{"selector over zero matches", map[string]any{"application": "ops", "ops": []any{cmp("/lat", "$gt", int64(999))}, "selector": map[string]any{"$min": "lat"}}, []string{}},
	{"unknown selector ignored", map[string]any{"application": "ops", "selector": map[string]any{"$median": "lat"}}, []string{"a", "b", "c"}},
	{"optional falls back to the application", map[string]any{"application": "ops", "optional": true, "ops": []any{cmp("/lat", "$gt", int64(999))}}, []string{"a", "b", "c"}},
	{"optional unused when something matches", map[string]any{"application": "ops", "optional": true, "ops": []any{cmp("/lat", "$gt", int64(100))}}, []string{"b"}},
}

func TestQuery_EveryOperator(t *testing.T) {
	for _, enc := range encodings {
		t.Run(string(enc), func(t *testing.T) {
			srv := startServer(t, nil)
			obs := opsFixture(t, srv, enc)
			for _, tc := range operatorCases {
				t.Run(tc.name, func(t *testing.T) {
					if got := queryNodes(t, obs, tc.query); !reflect.DeepEqual(got, tc.want) {
						t.Errorf("got %v, want %v", got, tc.want)
					}
				})
			}
		})
	}
}
