package query_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"testing"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/query"
)

type nopRecipient struct{ id string }

func (nopRecipient) Deliver(*bus.Delivery) bool { return true }

func client(app, id string, meta map[string]any) *bus.Client {
	return &bus.Client{Key: bus.ClientKey{App: app, ID: id}, Metadata: meta}
}

func mustParse(tb testing.TB, v any) *bus.Query {
	tb.Helper()
	q, err := query.Parse(v)
	if err != nil {
		tb.Fatal(err)
	}
	return q
}

func ids(ts []query.Target) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.Client.Key.ID)
	}
	sort.Strings(out)
	return out
}

func TestCompare_ErlangTermOrder(t *testing.T) {
	ordered := []any{int64(-5), -1.5, int64(0), 0.5, int64(1), false, nil, true,
		map[string]any{}, map[string]any{"a": int64(1)}, []any{}, []any{int64(1)}, "", "a", "b"}
	for i := range ordered {
		for j := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := query.Compare(ordered[i], ordered[j]); got != want {
				t.Errorf("Compare(%#v, %#v) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	if !query.Equal(int64(1), 1.0) || query.Equal("1", int64(1)) || !query.Equal([]any{int64(1)}, []any{1.0}) {
		t.Error("Equal must be Erlang's ==: 1 == 1.0, deep, no string/number coercion")
	}
	if query.Compare(int64(math.MaxInt64), int64(math.MaxInt64-1)) != 1 {
		t.Error("large integers must compare exactly")
	}
}

func TestParse_Errors(t *testing.T) {
	cases := map[string]any{
		"not a map":          "app",
		"ops not a list":     map[string]any{"ops": map[string]any{}},
		"op not a map":       map[string]any{"ops": []any{"x"}},
		"unknown operator":   map[string]any{"ops": []any{map[string]any{"path": "/a", "op": "$foo", "to": map[string]any{"value": 1}}}},
		"path no slash":      map[string]any{"ops": []any{map[string]any{"path": "a", "op": "$eq", "to": map[string]any{"value": 1}}}},
		"path not string":    map[string]any{"ops": []any{map[string]any{"path": nil, "op": "$eq", "to": map[string]any{"value": 1}}}},
		"to missing":         map[string]any{"ops": []any{map[string]any{"path": "/a", "op": "$eq"}}},
		"to empty":           map[string]any{"ops": []any{map[string]any{"path": "/a", "op": "$eq", "to": map[string]any{}}}},
		"with missing":       map[string]any{"ops": []any{map[string]any{"op": "$and"}}},
		"empty selector":     map[string]any{"selector": map[string]any{}},
		"selector not str":   map[string]any{"selector": map[string]any{"$min": int64(1)}},
		"selector not map":   map[string]any{"selector": "x"},
		"empty v1":           map[string]any{"ops": []any{map[string]any{}}},
		"v1 bad condition":   map[string]any{"ops": []any{map[string]any{"k": int64(1)}}},
		"v1 unknown":         map[string]any{"ops": []any{map[string]any{"k": map[string]any{"$foo": int64(1)}}}},
		"v1 logical no list": map[string]any{"ops": []any{map[string]any{"k": map[string]any{"$and": int64(1)}}}},
	}
	for name, v := range cases {
		if _, err := query.Parse(v); !errors.Is(err, bus.ErrInvalidQuery) {
			t.Errorf("%s: got %v, want ErrInvalidQuery", name, err)
		}
	}
	deep := map[string]any{"op": "$and", "with": []any{}}
	for range query.MaxDepth + 2 {
		deep = map[string]any{"op": "$and", "with": []any{deep}}
	}
	if _, err := query.Parse(map[string]any{"ops": []any{deep}}); !errors.Is(err, bus.ErrInvalidQuery) {
		t.Errorf("deep nesting: got %v, want ErrInvalidQuery", err)
	}
}

func TestParse_Flags(t *testing.T) {
	q := mustParse(t, map[string]any{"application": "a", "restricted": "true", "droppable": true,
		"optional": "yes", "key": int64(5), "selector": map[string]any{"$max": "x", "$min": "y"}})
	if q.AppFilter != bus.AppExact || !q.Restricted || !q.Droppable || q.Optional || q.HasKey {
		t.Errorf("got %+v", q)
	}
	if q.Selector == nil || q.Selector.Kind != bus.SelectMax {
		t.Errorf("selector = %+v, want $max (the smallest key)", q.Selector)
	}
	if all := mustParse(t, nil); all.AppFilter != bus.AppAny || all.Restricted {
		t.Errorf("null target: got %+v", all)
	}
}

// TestIndex_AgreesWithScan checks that the index's narrowing never changes the answer: for
// many queries, Find equals a plain scan with Match, through adds, updates and removes.
func TestIndex_AgreesWithScan(t *testing.T) {
	ix := query.NewIndex()
	var all []*bus.Client
	for i := range 60 {
		c := client(fmt.Sprint("app", i%3), fmt.Sprint("c", i), map[string]any{
			"n": int64(i % 5), "f": float64(i%5) / 2, "s": fmt.Sprint("v", i%4), "b": i%2 == 0,
			"l": []any{int64(i % 3)}, "z": nil, "restricted": i%7 == 0,
		})
		c.Restricted = i%7 == 0
		if err := ix.Add(c, nopRecipient{}); err != nil {
			t.Fatal(err)
		}
		all = append(all, c)
	}
	queries := []any{
		map[string]any{"application": "app1"},
		map[string]any{"ops": []any{map[string]any{"path": "/n", "op": "$eq", "to": map[string]any{"value": 2.0}}}},
		map[string]any{"application": "app2", "ops": []any{map[string]any{"path": "/s", "op": "$in", "to": map[string]any{"value": []any{"v1", "v3", "v1"}}}}},
		map[string]any{"ops": []any{map[string]any{"path": "/f", "op": "$eq", "to": map[string]any{"value": int64(1)}}}},
		map[string]any{"ops": []any{map[string]any{"path": "/b", "op": "$eq", "to": map[string]any{"value": true}}}, "restricted": true},
		map[string]any{"ops": []any{map[string]any{"path": "/z", "op": "$eq", "to": map[string]any{"value": nil}}}},
		map[string]any{"ops": []any{map[string]any{"path": "/l", "op": "$eq", "to": map[string]any{"value": []any{int64(1)}}}}},
		map[string]any{"ops": []any{map[string]any{"path": "/n", "op": "$in", "to": map[string]any{"value": []any{int64(1), []any{}}}}}},
		map[string]any{"application": "none"},
		map[string]any{"ops": []any{map[string]any{"path": "/n", "op": "$eq", "to": map[string]any{"value": int64(99)}}}},
	}
	check := func(stage string) {
		for _, raw := range queries {
			q := mustParse(t, raw)
			var want []query.Target
			for _, c := range all {
				if cur, ok := ix.Get(c.Key); ok && query.Match(q, cur.Client) {
					want = append(want, cur)
				}
			}
			if got := ix.Find(q); !reflect.DeepEqual(ids(got), ids(want)) {
				t.Errorf("%s: %v: got %v, want %v", stage, raw, ids(got), ids(want))
			}
			if one, ok := ix.FindOne(q); ok != (len(want) > 0) || (ok && !query.Match(q, one.Client)) {
				t.Errorf("%s: %v: FindOne = %v, %v", stage, raw, one.Client, ok)
			}
		}
	}
	check("after add")
	for i, c := range all {
		if i%2 == 0 {
			_, err := ix.Update(c.Key, func(old *bus.Client) *bus.Client {
				meta := map[string]any{}
				for k, v := range old.Metadata {
					meta[k] = v
				}
				meta["n"] = int64(4 - i%5)
				delete(meta, "s")
				return old.With(meta, nil)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	check("after update")
	for i, c := range all {
		if i%3 == 0 {
			if !ix.Remove(c.Key, nopRecipient{}) {
				t.Fatalf("remove %v failed", c.Key)
			}
		}
	}
	check("after remove")
	if ix.Remove(all[1].Key, nopRecipient{id: "other"}) {
		t.Error("Remove with another recipient removed the client")
	}
}

func TestIndex_AddDuplicate(t *testing.T) {
	ix := query.NewIndex()
	c := client("a", "c", nil)
	if err := ix.Add(c, nopRecipient{}); err != nil {
		t.Fatal(err)
	}
	if err := ix.Add(c, nopRecipient{}); !errors.Is(err, bus.ErrAlreadyRegistered) {
		t.Errorf("got %v, want ErrAlreadyRegistered", err)
	}
	if _, err := ix.Update(bus.ClientKey{App: "a", ID: "x"}, func(c *bus.Client) *bus.Client { return c }); !errors.Is(err, bus.ErrUnknownClient) {
		t.Errorf("got %v, want ErrUnknownClient", err)
	}
}

func TestFindOne_Uniform(t *testing.T) {
	ix := query.NewIndex()
	for i := range 4 {
		ix.Add(client("a", fmt.Sprint(i), map[string]any{"even": i%2 == 0}), nopRecipient{})
	}
	q := mustParse(t, map[string]any{"application": "a", "ops": []any{map[string]any{"path": "/even", "op": "$eq", "to": map[string]any{"value": true}}}})
	counts := map[string]int{}
	for range 4000 {
		one, _ := ix.FindOne(q)
		counts[one.Client.Key.ID]++
	}
	if len(counts) != 2 || counts["0"] < 1700 || counts["2"] < 1700 {
		t.Errorf("got %v, want about 2000 each for 0 and 2", counts)
	}
}

func TestRendezvous_StableAndMinimalMoves(t *testing.T) {
	var ts []query.Target
	for i := range 10 {
		ts = append(ts, query.Target{Client: client("a", fmt.Sprint("c", i), nil)})
	}
	before := map[string]string{}
	for k := range 200 {
		key := fmt.Sprint("key", k)
		before[key] = query.Rendezvous(ts, key).Client.Key.ID
		rev := append([]query.Target(nil), ts...)
		sort.Slice(rev, func(i, j int) bool { return i > j })
		if got := query.Rendezvous(rev, key).Client.Key.ID; got != before[key] {
			t.Fatalf("order changed the choice for %s", key)
		}
	}
	removed := ts[3].Client.Key.ID
	rest := append(append([]query.Target(nil), ts[:3]...), ts[4:]...)
	moved := 0
	for key, was := range before {
		if now := query.Rendezvous(rest, key).Client.Key.ID; now != was {
			moved++
			if was != removed {
				t.Errorf("%s moved from %s to %s though %s stayed", key, was, now, was)
			}
		}
	}
	if moved == 0 {
		t.Error("no key was on the removed client: the hash does not spread")
	}
}

func TestSelect_Avg(t *testing.T) {
	var ts []query.Target
	for i, v := range []any{int64(1), int64(2), 9.0, "x", nil} {
		ts = append(ts, query.Target{Client: client("a", fmt.Sprint(i), map[string]any{"v": v})})
	}
	// The mean of the numeric values 1, 2 and 9 is 4; 2 (client 1) is the closest.
	if got, ok := query.Select(ts, &bus.Selector{Kind: bus.SelectAvg, Key: "v"}); !ok || got.Client.Key.ID != "1" {
		t.Errorf("got %v, %v; want client 1", got.Client, ok)
	}
	if _, ok := query.Select(ts[3:], &bus.Selector{Kind: bus.SelectAvg, Key: "v"}); ok {
		t.Error("$avg over no numeric values selected something")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`{"application":"a","ops":[{"path":"/a/0","op":"$in","to":{"value":[1,2]}}],"selector":{"$min":"a"}}`)
	f.Add(`{"ops":[{"op":"$or","with":[{"k":{"$and":[{"$gt":1},{"$lt":3}]}}]}]}`)
	f.Add(`{"ops":[{"path":"/a","op":"$lt","to":{"path":"/b","default":0}}],"optional":true,"key":"k"}`)
	f.Add(`{"ops":[{"$nor":[{"a":{"$ne":null}}]}]}`)
	meta := map[string]any{"a": []any{int64(1), "x", map[string]any{"b": 2.5}}, "b": int64(3), "k": "v"}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := decodeJSONForFuzz(s)
		if err != nil {
			return
		}
		q, err := query.Parse(v)
		if err != nil {
			if !errors.Is(err, bus.ErrInvalidQuery) {
				t.Fatalf("error %v does not wrap ErrInvalidQuery", err)
			}
			return
		}
		c := client("a", "c", meta)
		ix := query.NewIndex()
		ix.Add(c, nopRecipient{})
		if got, want := len(ix.Find(q)) == 1, query.Match(q, c); got != want {
			t.Fatalf("index says %v, Match says %v", got, want)
		}
		query.Route(ix, q, query.One)
		query.Route(ix, q, query.All)
	})
}
