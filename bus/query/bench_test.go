package query_test

import (
	"fmt"
	"testing"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/query"
)

// benchIndex holds n clients spread over 10 applications, each with a region (one of 8), a
// load (0-99) and a few other keys, as a busy bus would.
func benchIndex(b *testing.B, n int) *query.Index {
	b.Helper()
	ix := query.NewIndex()
	for i := range n {
		meta := map[string]any{
			"region": fmt.Sprint("r", i%8), "load": int64(i % 100), "version": "1.2.3",
			"tags": []any{"a", "b"}, "restricted": false, "encoding": "json", "ip": "127.0.0.1",
		}
		if err := ix.Add(client(fmt.Sprint("app", i%10), fmt.Sprint("c", i), meta), nopRecipient{}); err != nil {
			b.Fatal(err)
		}
	}
	return ix
}

var benchQueries = map[string]any{
	"app-only": map[string]any{"application": "app3"},
	"2-op": map[string]any{"application": "app3", "ops": []any{
		map[string]any{"path": "/region", "op": "$eq", "to": map[string]any{"value": "r3"}},
		map[string]any{"path": "/load", "op": "$lt", "to": map[string]any{"value": int64(50)}},
	}},
	"2-op-unindexed": map[string]any{"application": "app3", "ops": []any{
		map[string]any{"path": "/load", "op": "$gte", "to": map[string]any{"value": int64(10)}},
		map[string]any{"path": "/tags", "op": "$contains", "to": map[string]any{"value": "b"}},
	}},
}

// BenchmarkRoute_Send is the cost of choosing one receiver (SEND) with the index.
func BenchmarkRoute_Send(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		ix := benchIndex(b, n)
		for name, raw := range benchQueries {
			q := mustParse(b, raw)
			b.Run(fmt.Sprintf("clients=%d/%s", n, name), func(b *testing.B) {
				for b.Loop() {
					if len(query.Route(ix, q, query.One)) != 1 {
						b.Fatal("no route")
					}
				}
			})
		}
	}
}

// BenchmarkRoute_Broadcast is the cost of finding every receiver (BROADCAST).
func BenchmarkRoute_Broadcast(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		ix := benchIndex(b, n)
		q := mustParse(b, benchQueries["2-op"])
		b.Run(fmt.Sprintf("clients=%d/2-op", n), func(b *testing.B) {
			for b.Loop() {
				query.Route(ix, q, query.All)
			}
		})
	}
}

// BenchmarkScan_Send is the baseline without an index: evaluating the query on every client
// and picking one match, as a plain scan would.
func BenchmarkScan_Send(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		var clients []*bus.Client
		for i := range n {
			clients = append(clients, client(fmt.Sprint("app", i%10), fmt.Sprint("c", i), map[string]any{
				"region": fmt.Sprint("r", i%8), "load": int64(i % 100)}))
		}
		q := mustParse(b, benchQueries["2-op"])
		b.Run(fmt.Sprintf("clients=%d/2-op", n), func(b *testing.B) {
			for b.Loop() {
				var hit *bus.Client
				for _, c := range clients {
					if query.Match(q, c) {
						hit = c
					}
				}
				if hit == nil {
					b.Fatal("no match")
				}
			}
		})
	}
}
