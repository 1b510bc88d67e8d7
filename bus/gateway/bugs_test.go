package gateway_test

import (
	"reflect"
	"testing"

	"github.com/mahou-go/mahou/bus/wire"
)

// Each test here is named after a BUG of the original server (reference sections 2-3) and
// proves that its REC is in place: the sender's connection survives and gets the documented
// answer.

// bugFixture starts a server with the operator fixture and a sender in app "sender".
func bugFixture(t *testing.T, enc wire.Encoding) *rawClient {
	t.Helper()
	srv := startServer(t, nil)
	opsFixture(t, srv, enc)
	return connect(t, srv, enc, "sender", "s", nil)
}

// sendExpect sends a SEND with target q and returns which fixture client got it, or "" when the
// sender got no_route. The sender's connection must survive either way.
func deliveredTo(t *testing.T, s *rawClient, q any) []string {
	t.Helper()
	got := queryNodes(t, s, q)
	send(s, "SEND", q, "p", "n")
	if len(got) == 0 {
		s.ExpectError(3, "no_route")
	}
	s.ExpectSilence("s")
	return got
}

func TestBug_SendWithoutPayloadKey(t *testing.T) {
	for _, enc := range encodings {
		srv := startServer(t, nil)
		r := connect(t, srv, enc, "r", "r", nil)
		r.Send(map[string]any{"op": 4, "t": "SEND", "d": map[string]any{"target": map[string]any{"application": "r"}}})
		d := r.Expect(4)["d"].(map[string]any)
		if p, ok := d["payload"]; !ok || p != nil || d["nonce"] != nil {
			t.Errorf("%s: got d %v, want payload and nonce null", enc, d)
		}
		r.ExpectSilence("r")
	}
}

func TestBug_NoRouteWithOpsDropsConnection(t *testing.T) {
	for _, enc := range encodings {
		s := bugFixture(t, enc)
		q := map[string]any{"application": "ops", "ops": []any{cmp("/lat", "$gt", int64(1000))}, "selector": map[string]any{"$max": "lat"}}
		send(s, "BROADCAST", q, "p", "n")
		d := s.ExpectError(3, "no_route")
		if got := d["extra_info"].(map[string]any)["d"].(map[string]any)["target"]; !reflect.DeepEqual(got, q) {
			t.Errorf("%s: extra_info.d.target = %v, want the query as sent", enc, got)
		}
		s.ExpectSilence("s")
	}
}

func TestBug_QueryNodesCrashes(t *testing.T) {
	for _, enc := range encodings {
		s := bugFixture(t, enc)
		if got := queryNodes(t, s, opsQuery(cmp("/lat", "$lt", int64(120)))); !reflect.DeepEqual(got, []string{"a", "c"}) {
			t.Errorf("%s: got %v, want [a c]", enc, got)
		}
		// The target+payload shape the original mistook for a dispatch is just a query with
		// extra keys.
		if got := queryNodes(t, s, map[string]any{"application": "ops", "target": nil, "payload": nil}); len(got) != 3 {
			t.Errorf("%s: got %v, want all three", enc, got)
		}
		s.ExpectSilence("s")
	}
}

func TestBug_PathToPathCrashes(t *testing.T) {
	s := bugFixture(t, wire.JSON)
	q := opsQuery(map[string]any{"path": "/lat", "op": "$lt", "to": map[string]any{"path": "/limit", "default": int64(0)}})
	if got := deliveredTo(t, s, q); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("got %v, want [a] (50 < 60)", got)
	}
}

func TestBug_InNeverMatchesList(t *testing.T) {
	s := bugFixture(t, wire.Msgpack)
	if got := deliveredTo(t, s, opsQuery(cmp("/name", "$in", []any{"beta", "zeta"}))); !reflect.DeepEqual(got, []string{"b"}) {
		t.Errorf("got %v, want [b]", got)
	}
}

func TestBug_NinCrashesSender(t *testing.T) {
	s := bugFixture(t, wire.ETF)
	if got := deliveredTo(t, s, opsQuery(cmp("/name", "$nin", []any{"beta", "gamma"}))); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("got %v, want [a]", got)
	}
}

func TestBug_NContainsCrashesSender(t *testing.T) {
	s := bugFixture(t, wire.JSON)
	if got := deliveredTo(t, s, opsQuery(cmp("/tags", "$ncontains", "y"))); !reflect.DeepEqual(got, []string{"c"}) {
		t.Errorf("got %v, want [c]", got)
	}
}

func TestBug_EmptyAndOrCrashes(t *testing.T) {
	s := bugFixture(t, wire.JSON)
	if got := deliveredTo(t, s, opsQuery(logical("$and"))); len(got) != 3 {
		t.Errorf("$and []: got %v, want all three", got)
	}
	if got := deliveredTo(t, s, opsQuery(logical("$or"))); len(got) != 0 {
		t.Errorf("$or []: got %v, want none (and no_route)", got)
	}
}

func TestBug_DigitSegmentTreatedAsIndex(t *testing.T) {
	s := bugFixture(t, wire.JSON)
	if got := deliveredTo(t, s, opsQuery(cmp("/key2", "$eq", "v"))); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("/key2: got %v, want [a]", got)
	}
	if got := deliveredTo(t, s, opsQuery(cmp("/cfg/ports/0", "$eq", int64(8080)))); !reflect.DeepEqual(got, []string{"b"}) {
		t.Errorf("/cfg/ports/0: got %v, want [b]", got)
	}
}

func TestBug_AvgCrashes(t *testing.T) {
	s := bugFixture(t, wire.Msgpack)
	q := map[string]any{"application": "ops", "selector": map[string]any{"$avg": "lat"}}
	if got := deliveredTo(t, s, q); !reflect.DeepEqual(got, []string{"c"}) {
		t.Errorf("got %v, want [c] (100 is the mean of 50, 150, 100)", got)
	}
}

func TestBug_SelectorOverZeroMatchesCrashes(t *testing.T) {
	s := bugFixture(t, wire.ETF)
	for _, sel := range []string{"$min", "$max", "$avg"} {
		q := map[string]any{"application": "ops", "ops": []any{cmp("/lat", "$lt", int64(0))}, "selector": map[string]any{sel: "lat"}}
		if got := deliveredTo(t, s, q); len(got) != 0 {
			t.Errorf("%s: got %v, want no match", sel, got)
		}
	}
}

func TestBug_ListsStoredAsMaps(t *testing.T) {
	s := bugFixture(t, wire.JSON)
	if got := deliveredTo(t, s, opsQuery(cmp("/tags", "$eq", []any{"x", "y"}))); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("$eq on a whole list: got %v, want [a]", got)
	}
	internal := "__singyeong:internal:metadata-store:index:0"
	if got := deliveredTo(t, s, opsQuery(cmp("/tags", "$contains", internal))); len(got) != 0 {
		t.Errorf("$contains of a storage key: got %v, want none", got)
	}
}

func TestBug_OptionalIgnored(t *testing.T) {
	s := bugFixture(t, wire.JSON)
	q := map[string]any{"application": "ops", "optional": true, "ops": []any{cmp("/lat", "$gt", int64(1000))}}
	send(s, "SEND", q, "p", nil)
	s.ExpectSilence("s") // no no_route: the query fell back to every "ops" client
	q["optional"] = false
	send(s, "SEND", q, "p", nil)
	s.ExpectError(3, "no_route")
}

func TestBug_KeyIgnored(t *testing.T) {
	srv := startServer(t, nil)
	var rs []*rawClient
	for _, id := range []string{"k1", "k2", "k3", "k4"} {
		rs = append(rs, connect(t, srv, wire.JSON, "keyed", id, nil))
	}
	s := connect(t, srv, wire.JSON, "sender", "s", nil)
	receivers := map[string]map[int]int{}
	for _, key := range []string{"user-1", "user-2", "user-3", "user-4", "user-5", "user-6"} {
		receivers[key] = map[int]int{}
		for range 10 {
			send(s, "SEND", map[string]any{"application": "keyed", "key": key}, key, nil)
		}
	}
	s.ExpectSilence("s")
	for i, r := range rs {
		r.Send(map[string]any{"op": 5})
		for m := r.Next(); m["op"] != int64(6); m = r.Next() {
			key := m["d"].(map[string]any)["payload"].(string)
			receivers[key][i]++
		}
	}
	used := map[int]bool{}
	for key, got := range receivers {
		if len(got) != 1 {
			t.Errorf("key %s reached receivers %v, want exactly one", key, got)
		}
		for i := range got {
			used[i] = true
		}
	}
	if len(used) < 2 {
		t.Errorf("six keys all went to %v: the hash does not spread", used)
	}
}

func TestBug_MetadataAppliedLazily(t *testing.T) {
	srv := startServer(t, nil)
	w := connect(t, srv, wire.JSON, "lazy", "w", nil)
	s := connect(t, srv, wire.JSON, "sender", "s", nil)
	for i := range int64(20) {
		w.Send(map[string]any{"op": 4, "t": "UPDATE_METADATA", "d": meta("gen", "integer", i)})
		// The update is applied before the next frame is read, so a SEND right behind it
		// routes by it, with no 500 ms delay.
		w.ExpectSilence("w")
		send(s, "SEND", map[string]any{"application": "lazy", "ops": []any{cmp("/gen", "$eq", i)}}, i, nil)
		if got := w.Expect(4)["d"].(map[string]any)["payload"]; got != i {
			t.Fatalf("got payload %v, want %d", got, i)
		}
	}
}

func TestBug_MalformedMetadataEntryKillsConnection(t *testing.T) {
	for _, enc := range encodings {
		srv := startServer(t, nil)
		c := connect(t, srv, enc, "m", "c", nil)
		for _, d := range []any{map[string]any{"k": "bare value"}, map[string]any{"k": map[string]any{"type": "string"}}, "x", nil} {
			c.Send(map[string]any{"op": 4, "t": "UPDATE_METADATA", "d": d})
			c.ExpectError(3, "invalid metadata")
		}
		c.ExpectSilence("c")
	}
}

func TestBug_LegacyV1OpsRejected(t *testing.T) {
	s := bugFixture(t, wire.JSON)
	q := map[string]any{"application": "ops", "ops": []any{map[string]any{"lat": map[string]any{"$gte": int64(100)}, "name": map[string]any{"$ne": "beta"}}}}
	if got := deliveredTo(t, s, q); !reflect.DeepEqual(got, []string{"c"}) {
		t.Errorf("got %v, want [c]", got)
	}
}

func TestBug_ClientDisconnectedSentTwice(t *testing.T) {
	srv := startServer(t, nil)
	w := connect(t, srv, wire.JSON, "watch", "w", map[string]any{"receive_client_updates": true})
	w.Expect(4) // its own CLIENT_CONNECTED
	for _, end := range []func(c *rawClient){
		func(c *rawClient) { c.Send(map[string]any{"op": 8}); c.Expect(8); c.ExpectClosed() }, // server-initiated
		func(c *rawClient) { c.WS.CloseNow() },                                                // client-initiated
	} {
		c := connect(t, srv, wire.JSON, "leaver", "l", nil)
		if m := w.Expect(4); m["t"] != "CLIENT_CONNECTED" {
			t.Fatalf("got %v", m)
		}
		end(c)
		if m := w.Expect(4); m["t"] != "CLIENT_DISCONNECTED" {
			t.Fatalf("got %v", m)
		}
	}
	w.ExpectSilence("w")
}
