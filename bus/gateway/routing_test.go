package gateway_test

import (
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/wire"
)

// meta builds an identify/UPDATE_METADATA metadata map from key, type, value triples.
func meta(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+2 < len(kv)+1; i += 3 {
		m[kv[i].(string)] = map[string]any{"type": kv[i+1], "value": kv[i+2]}
	}
	return m
}

// queryNodes asks QUERY_NODES over c and returns the matching client ids, sorted.
func queryNodes(t testing.TB, c *rawClient, q any) []string {
	t.Helper()
	c.Send(map[string]any{"op": 4, "t": "QUERY_NODES", "d": q})
	m := c.Expect(4)
	if m["t"] != "QUERY_NODES" {
		t.Fatalf("got %v, want t QUERY_NODES", m)
	}
	nodes, ok := m["d"].(map[string]any)["nodes"].([]any)
	if !ok {
		t.Fatalf("QUERY_NODES d = %v, want {nodes: [...]}", m["d"])
	}
	ids := []string{}
	for _, n := range nodes {
		ids = append(ids, n.(map[string]any)["client_id"].(string))
	}
	sort.Strings(ids)
	return ids
}

func send(c *rawClient, t string, target, payload, nonce any) {
	c.Send(map[string]any{"op": 4, "t": t, "d": map[string]any{"target": target, "payload": payload, "nonce": nonce}})
}

func TestRouting_SendNonceAndPayloadPassthrough(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, srv *gateway.Server, enc wire.Encoding) {
		app := "pass-" + string(enc)
		recv := connect(t, srv, enc, app, "r", nil)
		for _, nonce := range []any{"n", int64(7), map[string]any{"id": "x"}, nil} {
			payload := map[string]any{"list": []any{int64(1), 2.5, "s", nil, true}, "n": map[string]any{}}
			send(recv, "SEND", map[string]any{"application": app}, payload, nonce)
			m := recv.Expect(4)
			checkEnvelope(t, m, "SEND")
			d := m["d"].(map[string]any)
			if !reflect.DeepEqual(d["payload"], payload) || !reflect.DeepEqual(d["nonce"], nonce) || d["target"] != nil {
				t.Errorf("got d %#v, want payload %v, nonce %v, target null", d, payload, nonce)
			}
		}
	})
}

func TestRouting_BroadcastReachesEveryMatch(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, srv *gateway.Server, enc wire.Encoding) {
		app := "bc-" + string(enc)
		var rs []*rawClient
		for i := range 3 {
			rs = append(rs, connect(t, srv, encodings[i], app, fmt.Sprint("r", i), nil))
		}
		other := connect(t, srv, enc, "other-"+string(enc), "o", nil)
		send(other, "BROADCAST", map[string]any{"application": app}, "hi", "n")
		for _, r := range rs {
			m := r.Expect(4)
			if m["t"] != "BROADCAST" || m["d"].(map[string]any)["payload"] != "hi" {
				t.Errorf("got %v", m)
			}
		}
		other.ExpectSilence("o")
	})
}

func TestRouting_SendPicksOneMatch(t *testing.T) {
	srv := startServer(t, nil)
	a := connect(t, srv, wire.JSON, "one", "a", nil)
	b := connect(t, srv, wire.JSON, "one", "b", nil)
	sender := connect(t, srv, wire.JSON, "sender", "s", nil)
	const n = 200
	for range n {
		send(sender, "SEND", map[string]any{"application": "one"}, "x", nil)
	}
	sender.ExpectSilence("s")
	got := map[string]int{}
	for name, c := range map[string]*rawClient{"a": a, "b": b} {
		c.Send(map[string]any{"op": 5})
		for m := c.Next(); m["op"] != int64(6); m = c.Next() {
			got[name]++
		}
	}
	if got["a"]+got["b"] != n || got["a"] < n/5 || got["b"] < n/5 {
		t.Errorf("got deliveries %v, want %d in all, spread over both", got, n)
	}
}

func TestRouting_NoRouteAlwaysOp3(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, srv *gateway.Server, enc wire.Encoding) {
		c := connect(t, srv, enc, "nr-"+string(enc), "c", nil)
		target := map[string]any{
			"application": "nobody",
			"ops":         []any{map[string]any{"path": "/x", "op": "$eq", "to": map[string]any{"value": int64(1)}}},
			"selector":    map[string]any{"$min": "x"},
		}
		for _, typ := range []string{"SEND", "BROADCAST"} {
			c.Send(map[string]any{"op": 4, "t": typ, "ts": int64(123), "d": map[string]any{"target": target, "payload": "p", "nonce": "n"}})
			d := c.ExpectError(3, "no_route")
			info := d["extra_info"].(map[string]any)
			if info["op"] != int64(4) || info["t"] != typ || info["ts"] != int64(123) {
				t.Errorf("extra_info = %v, want op 4, t %s, ts 123", info, typ)
			}
			sent := info["d"].(map[string]any)
			if sent["nonce"] != "n" || sent["payload"] != "p" || !reflect.DeepEqual(sent["target"], target) {
				t.Errorf("extra_info.d = %v, want the sent d", sent)
			}
		}
		// Droppable: silently dropped.
		send(c, "SEND", map[string]any{"application": "nobody", "droppable": true}, "p", nil)
		send(c, "BROADCAST", map[string]any{"application": "nobody", "droppable": "true"}, "p", nil)
		c.ExpectSilence("c")
	})
}

func TestRouting_SendErrors(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, srv *gateway.Server, enc wire.Encoding) {
		c := connect(t, srv, enc, "se-"+string(enc), "c", nil)
		c.Send(map[string]any{"op": 4, "t": "SEND", "d": "not a map"})
		c.ExpectError(3, "invalid dispatch payload")
		c.Send(map[string]any{"op": 4, "t": "SEND", "d": map[string]any{"payload": "no target"}})
		c.ExpectError(3, "invalid dispatch payload")
		for target, want := range map[string]any{
			"ops not a list":  map[string]any{"ops": "x"},
			"bad path":        map[string]any{"ops": []any{map[string]any{"path": "x", "op": "$eq", "to": map[string]any{"value": 1}}}},
			"unknown op":      map[string]any{"ops": []any{map[string]any{"path": "/x", "op": "$regex", "to": map[string]any{"value": 1}}}},
			"no to":           map[string]any{"ops": []any{map[string]any{"path": "/x", "op": "$eq"}}},
			"empty selector":  map[string]any{"selector": map[string]any{}},
			"target a string": "app",
		} {
			send(c, "SEND", want, "p", nil)
			d := c.ExpectError(3, "invalid query")
			if s, _ := d["extra_info"].(string); s == "" {
				t.Errorf("%s: extra_info = %v, want the reason", target, d["extra_info"])
			}
		}
		c.ExpectSilence("c")
	})
}

func TestRouting_TargetNullMatchesEveryone(t *testing.T) {
	srv := startServer(t, nil)
	a := connect(t, srv, wire.JSON, "app-a", "a", nil)
	b := connect(t, srv, wire.Msgpack, "app-b", "b", nil)
	send(a, "BROADCAST", nil, "all", nil)
	a.Expect(4)
	b.Expect(4)
	// A legacy array of tags matches nobody.
	send(a, "SEND", map[string]any{"application": []any{"tag"}}, "p", nil)
	a.ExpectError(3, "no_route")
}

func TestMetadata_UpdateTypesAndVisibility(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, srv *gateway.Server, enc wire.Encoding) {
		app := "md-" + string(enc)
		c := connect(t, srv, enc, app, "c", nil)
		c.Send(map[string]any{"op": 4, "t": "UPDATE_METADATA", "d": meta(
			"s", "string", "x", "i", "integer", int64(3), "f", "float", 2.5, "v", "version", "1.2.3-rc.1+b",
			"l", "list", []any{int64(1), "a"}, "b", "boolean", true, "m", "map", map[string]any{"k": []any{int64(1)}},
		)})
		// Visible to routing at once: the very next frame sees it.
		q := map[string]any{"application": app, "ops": []any{
			map[string]any{"path": "/i", "op": "$eq", "to": map[string]any{"value": int64(3)}},
			map[string]any{"path": "/m/k/0", "op": "$eq", "to": map[string]any{"value": int64(1)}},
			map[string]any{"path": "/v", "op": "$eq", "to": map[string]any{"value": "1.2.3-rc.1+b"}},
		}}
		if got := queryNodes(t, c, q); !reflect.DeepEqual(got, []string{"c"}) {
			t.Errorf("after update: got %v, want [c]", got)
		}
	})
}

func TestMetadata_ValidationAllOrNothing(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, srv *gateway.Server, enc wire.Encoding) {
		app := "mv-" + string(enc)
		c := connect(t, srv, enc, app, "c", map[string]any{"metadata": meta("keep", "integer", int64(1))})
		c.Send(map[string]any{"op": 4, "t": "UPDATE_METADATA", "d": meta(
			"keep", "integer", int64(2),
			"int_as_float", "integer", 1.0, "float_as_int", "float", int64(1), "bad_version", "version", "1.2",
			"bad_type", "colour", "red", "ip", "string", "1.2.3.4", "bad_list", "list", "x",
			"bad_bool", "boolean", "true", "bad_map", "map", []any{},
		)})
		d := c.ExpectError(3, "invalid metadata")
		want := map[string]any{
			"int_as_float": "int_as_float: value fails validation for 'integer'",
			"float_as_int": "float_as_int: value fails validation for 'float'",
			"bad_version":  "bad_version: value fails validation for 'version'",
			"bad_type":     "bad_type: type 'colour' doesn't exists",
			"ip":           "ip: forbidden metadata key",
			"bad_list":     "bad_list: value fails validation for 'list'",
			"bad_bool":     "bad_bool: value fails validation for 'boolean'",
			"bad_map":      "bad_map: value fails validation for 'map'",
		}
		if !reflect.DeepEqual(d["extra_info"], want) {
			t.Errorf("extra_info = %v\nwant %v", d["extra_info"], want)
		}
		q := map[string]any{"application": app, "ops": []any{map[string]any{"path": "/keep", "op": "$eq", "to": map[string]any{"value": int64(1)}}}}
		if got := queryNodes(t, c, q); len(got) != 1 {
			t.Errorf("valid entries of a refused update were applied: got %v", got)
		}
		c.Send(map[string]any{"op": 4, "t": "UPDATE_METADATA", "d": []any{}})
		c.ExpectError(3, "invalid metadata")
		c.Send(map[string]any{"op": 4, "t": "UPDATE_METADATA", "d": map[string]any{"x": "not an entry"}})
		c.ExpectError(3, "invalid metadata")
		c.ExpectSilence("c")
	})
}

func TestMetadata_Strategies(t *testing.T) {
	for _, strategy := range []string{"merge", "replace"} {
		t.Run(strategy, func(t *testing.T) {
			srv := startServer(t, func(c *gateway.Config) { c.MetadataStrategy = bus.Strategy(strategy) })
			c := connect(t, srv, wire.JSON, "st", "c", map[string]any{"metadata": meta("a", "integer", int64(1))})
			c.Send(map[string]any{"op": 4, "t": "UPDATE_METADATA", "d": meta("b", "integer", int64(2))})
			hasA := queryNodes(t, c, map[string]any{"ops": []any{map[string]any{"path": "/a", "op": "$eq", "to": map[string]any{"value": int64(1)}}}})
			hasB := queryNodes(t, c, map[string]any{"ops": []any{map[string]any{"path": "/b", "op": "$eq", "to": map[string]any{"value": int64(2)}}}})
			hasEnc := queryNodes(t, c, map[string]any{"ops": []any{map[string]any{"path": "/encoding", "op": "$eq", "to": map[string]any{"value": "json"}}}})
			if len(hasB) != 1 || len(hasEnc) != 1 {
				t.Errorf("update or reserved keys lost: b %v, encoding %v", hasB, hasEnc)
			}
			if wantA := strategy == "merge"; (len(hasA) == 1) != wantA {
				t.Errorf("%s: key a kept = %v, want %v", strategy, len(hasA) == 1, wantA)
			}
		})
	}
}

func TestMetadata_ReservedKeys(t *testing.T) {
	srv := startServer(t, nil)
	connect(t, srv, wire.Msgpack, "res", "c", map[string]any{"namespace": "prod", "ip": "10.0.0.9:8080",
		"receive_client_updates": true, "metadata": meta("x", "string", "y")})
	other := connect(t, srv, wire.JSON, "res", "d", nil)
	other.ExpectSilence("d")
	cases := map[string]any{
		"namespace": "prod", "ip": "10.0.0.9:8080", "encoding": "msgpack", "receive_client_updates": true,
	}
	for key, value := range cases {
		q := map[string]any{"application": "res", "ops": []any{map[string]any{"path": "/" + key, "op": "$eq", "to": map[string]any{"value": value}}}}
		if got := queryNodes(t, other, q); !reflect.DeepEqual(got, []string{"c"}) {
			t.Errorf("%s == %v: got %v, want [c]", key, value, got)
		}
	}
	q := map[string]any{"application": "res", "ops": []any{map[string]any{"path": "/ip", "op": "$eq", "to": map[string]any{"value": "127.0.0.1"}}}}
	if got := queryNodes(t, other, q); !reflect.DeepEqual(got, []string{"d"}) {
		t.Errorf("peer ip: got %v, want [d]", got)
	}
	q = map[string]any{"application": "res", "ops": []any{map[string]any{"path": "/last_heartbeat_time", "op": "$gt", "to": map[string]any{"value": int64(0)}}}}
	if got := queryNodes(t, other, q); len(got) != 2 {
		t.Errorf("last_heartbeat_time: got %v, want both", got)
	}
	q = map[string]any{"application": "res", "ops": []any{map[string]any{"path": "/restricted", "op": "$eq", "to": map[string]any{"value": false}}}}
	if got := queryNodes(t, other, q); len(got) != 2 {
		t.Errorf("restricted == false: got %v, want both", got)
	}
	// Clients cannot set reserved keys, not even in identify.
	r := dial(t, srv.Addr(), wire.JSON)
	r.Expect(0)
	r.Send(map[string]any{"op": 1, "d": map[string]any{"client_id": "c", "application_id": "res2", "metadata": meta("encoding", "string", "etf")}})
	d := r.ExpectError(8, "initial metadata: invalid")
	if want := map[string]any{"encoding": "encoding: forbidden metadata key"}; !reflect.DeepEqual(d["extra_info"], want) {
		t.Errorf("extra_info = %v, want %v", d["extra_info"], want)
	}
}

func TestClientEvents_SentOnceToSubscribers(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, srv *gateway.Server, enc wire.Encoding) {
		watcher := dial(t, srv.Addr(), enc)
		watcher.Identify("watch-"+string(enc), "w", map[string]any{"receive_client_updates": true})
		// The subscriber gets its own CLIENT_CONNECTED after ready.
		m := watcher.Expect(4)
		checkEnvelope(t, m, "CLIENT_CONNECTED")
		if d := m["d"].(map[string]any); d["target"] != nil || d["nonce"] != nil ||
			!reflect.DeepEqual(d["payload"], map[string]any{"app": "watch-" + string(enc)}) {
			t.Errorf("CLIENT_CONNECTED d = %v", d)
		}
		other := connect(t, srv, wire.JSON, "someapp-"+string(enc), "o", nil)
		m = watcher.Expect(4)
		if m["t"] != "CLIENT_CONNECTED" || m["d"].(map[string]any)["payload"].(map[string]any)["app"] != "someapp-"+string(enc) {
			t.Errorf("got %v", m)
		}
		// Closed by a fatal op 8 (the original could announce this twice).
		other.Send(map[string]any{"op": 0})
		other.ExpectError(8, "invalid client op :hello")
		other.ExpectClosed()
		m = watcher.Expect(4)
		if m["t"] != "CLIENT_DISCONNECTED" {
			t.Errorf("got %v, want CLIENT_DISCONNECTED", m)
		}
		watcher.ExpectSilence("w")
	})
}
