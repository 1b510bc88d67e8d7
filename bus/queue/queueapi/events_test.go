package queueapi_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/etf"
	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/internal/wstest"
	"github.com/mahou-go/mahou/bus/queue"
	"github.com/mahou-go/mahou/bus/queue/queueapi"
	"github.com/mahou-go/mahou/bus/wire"
)

// TestQueue_AcrossEncodings sends from every encoding to consumers of every encoding and
// checks the original's shapes: QUEUE_CONFIRM {queue}, and the delivery's
// {target: null, nonce, payload: {queue, payload, id}}.
func TestQueue_AcrossEncodings(t *testing.T) {
	s := start(t, nil)
	for _, from := range encodings {
		for _, to := range encodings {
			name := string(from) + "-" + string(to)
			p := s.connect(t, from, "producer", "p-"+name, nil)
			c := s.connect(t, to, "consumer", "c-"+name, nil)
			payload := map[string]any{"n": int64(7), "f": 2.5, "l": []any{"x", nil, true}, "m": map[string]any{}}
			nonce := map[string]any{"reply": "to-me"}
			enqueue(p, name, app("consumer"), payload, nonce)
			confirm(t, p, name)
			dispatch(c, "QUEUE_REQUEST", map[string]any{"queue": name})
			got, gotNonce := received(t, c)
			if got["queue"] != name || !reflect.DeepEqual(got["payload"], payload) || !reflect.DeepEqual(gotNonce, nonce) {
				t.Errorf("%s: got %v nonce %v", name, got, gotNonce)
			}
			dispatch(c, "QUEUE_ACK", map[string]any{"queue": name, "id": got["id"]})
			c.ExpectSilence("c-" + name)
			if st, _ := s.broker.QueueStats(name); st.InFlight != 0 || st.Depth() != 0 {
				t.Errorf("%s: after ACK: %+v", name, st)
			}
		}
	}
}

func TestQueue_MissingNonceAndPayloadAreNull(t *testing.T) {
	s := start(t, nil)
	c := s.connect(t, wire.JSON, "w", "c", nil)
	dispatch(c, "QUEUE", map[string]any{"queue": "q", "target": nil}) // the original refused this
	confirm(t, c, "q")
	dispatch(c, "QUEUE_REQUEST", map[string]any{"queue": "q"})
	p, nonce := received(t, c)
	if p["payload"] != nil || nonce != nil {
		t.Errorf("got payload %v nonce %v, want nulls", p["payload"], nonce)
	}
}

func TestQueue_Errors(t *testing.T) {
	s := start(t, func(_ *gateway.Config, q *queue.Config) { q.MaxBytes = 4096 })
	c := s.connect(t, wire.JSON, "w", "c", nil)
	cases := []struct {
		t      string
		d      any
		error  string
		reason string
	}{
		{"QUEUE", "not a map", "invalid dispatch payload", "d: must be a map"},
		{"QUEUE", map[string]any{"target": nil}, "invalid dispatch payload", "queue: must be a non-empty string of at most 255 bytes"},
		{"QUEUE", map[string]any{"queue": "q"}, "invalid dispatch payload", "target: missing (null targets every client)"},
		{"QUEUE", map[string]any{"queue": strings.Repeat("q", 256), "target": nil}, "invalid dispatch payload", "queue: must be a non-empty string of at most 255 bytes"},
		{"QUEUE", map[string]any{"queue": "q", "target": []any{}}, "invalid query", "target must be a map or null, got list"},
		{"QUEUE", map[string]any{"queue": "q", "target": nil, "payload": strings.Repeat("x", 5000)}, "queue full", ""},
		{"QUEUE_REQUEST", map[string]any{"queue": int64(1)}, "invalid dispatch payload", "queue: must be a non-empty string of at most 255 bytes"},
		{"QUEUE_REQUEST_CANCEL", nil, "invalid dispatch payload", "d: must be a map"},
		{"QUEUE_ACK", map[string]any{"queue": "q"}, "invalid dispatch payload", "id: must be a non-empty string of at most 128 bytes"},
		{"QUEUE_NACK", map[string]any{"queue": "q", "id": "x", "delay": 1.5}, "invalid dispatch payload", "delay: must be a non-negative integer (milliseconds)"},
		{"QUEUE_NACK", map[string]any{"queue": "q", "id": "x", "delay": int64(-1)}, "invalid dispatch payload", "delay: must be a non-negative integer (milliseconds)"},
		{"QUEUE_NACK", map[string]any{"queue": "q", "id": "x", "delay": int64(2 * time.Hour / time.Millisecond)}, "invalid dispatch payload", "delay: must be between 0 and 3600000 ms"},
	}
	for _, tc := range cases {
		dispatch(c, tc.t, tc.d)
		d := c.ExpectError(3, tc.error)
		info, _ := d["extra_info"].(map[string]any)
		if info["op"] != "dispatch" || info["t"] != tc.t || !reflect.DeepEqual(info["d"], tc.d) || info["ts"] != int64(1) {
			t.Errorf("%s %v: extra_info %v, want the frame", tc.t, tc.d, info)
		}
		if r, _ := info["reason"].(string); tc.reason != "" && r != tc.reason || r == "" {
			t.Errorf("%s %v: reason %q, want %q", tc.t, tc.d, r, tc.reason)
		}
	}
	c.ExpectSilence("c")
}

// TestQueue_OutcomesInOrder checks that the outcomes of QUEUE frames come in the order the
// frames were sent, errors included, so a client can match them to its frames.
func TestQueue_OutcomesInOrder(t *testing.T) {
	s := start(t, nil)
	c := s.connect(t, wire.Msgpack, "w", "c", nil)
	for i := range 20 {
		if i%3 == 1 {
			dispatch(c, "QUEUE", map[string]any{"queue": "q", "target": "bad"})
			continue
		}
		enqueue(c, "q", nil, int64(i), nil)
	}
	for i := range 20 {
		if i%3 == 1 {
			c.ExpectError(3, "invalid query")
			continue
		}
		confirm(t, c, "q")
	}
}

func TestQueue_ClientShowsItsQueues(t *testing.T) {
	s := start(t, nil)
	c := s.connect(t, wire.JSON, "w", "c", nil)
	queues := func() []any {
		t.Helper()
		dispatch(c, "QUERY_NODES", app("w"))
		m := c.Expect(4)
		return m["d"].(map[string]any)["nodes"].([]any)[0].(map[string]any)["queues"].([]any)
	}
	dispatch(c, "QUEUE_REQUEST", map[string]any{"queue": "a"})
	dispatch(c, "QUEUE_REQUEST", map[string]any{"queue": "b"})
	dispatch(c, "QUEUE_REQUEST", map[string]any{"queue": "a"})
	if got := queues(); !reflect.DeepEqual(got, []any{"b", "a"}) {
		t.Errorf("got %v, want [b a] (no duplicates)", got)
	}
	dispatch(c, "QUEUE_REQUEST_CANCEL", map[string]any{"queue": "a"})
	if got := queues(); !reflect.DeepEqual(got, []any{"b"}) {
		t.Errorf("after cancel: got %v, want [b] (the original kept the name)", got)
	}
	if st, _ := s.broker.QueueStats("a"); st.Waiting != 0 {
		t.Errorf("a: %+v", st)
	}
}

func TestQueue_ConsumerDisconnectReturnsMessage(t *testing.T) {
	s := start(t, nil)
	p := s.connect(t, wire.JSON, "p", "p", nil)
	a := s.connect(t, wire.ETF, "w", "a", nil)
	b := s.connect(t, wire.Msgpack, "w", "b", nil)
	enqueue(p, "q", app("w"), "job", "n")
	confirm(t, p, "q")
	dispatch(a, "QUEUE_REQUEST", map[string]any{"queue": "q"})
	first, _ := received(t, a)
	dispatch(b, "QUEUE_REQUEST", map[string]any{"queue": "q"})
	b.ExpectSilence("b")
	a.WS.CloseNow()
	again, nonce := received(t, b)
	if again["id"] != first["id"] || nonce != "n" {
		t.Errorf("got %v, want %v again", again, first)
	}
}

func TestQueue_MetadataUpdateDelivers(t *testing.T) {
	s := start(t, nil)
	c := s.connect(t, wire.JSON, "w", "c", nil)
	target := map[string]any{"ops": []any{map[string]any{"path": "/gpu", "op": "$eq", "to": map[string]any{"value": true}}}}
	enqueue(c, "q", target, "render", nil)
	confirm(t, c, "q")
	dispatch(c, "QUEUE_REQUEST", map[string]any{"queue": "q"})
	c.ExpectSilence("c")
	dispatch(c, "UPDATE_METADATA", map[string]any{"gpu": map[string]any{"type": "boolean", "value": true}})
	if p, _ := received(t, c); p["payload"] != "render" {
		t.Errorf("got %v", p)
	}
}

func TestQueue_NackAndDeadLetters(t *testing.T) {
	s := start(t, func(_ *gateway.Config, q *queue.Config) { q.MaxDeliveries = 2 })
	c := s.connect(t, wire.JSON, "w", "c", nil)
	enqueue(c, "q", nil, "poison", nil)
	confirm(t, c, "q")
	for range 2 {
		dispatch(c, "QUEUE_REQUEST", map[string]any{"queue": "q"})
		p, _ := received(t, c)
		dispatch(c, "QUEUE_NACK", map[string]any{"queue": "q", "id": p["id"]})
	}
	dispatch(c, "QUEUE_REQUEST", map[string]any{"queue": "q"})
	c.ExpectSilence("c")
	if st, _ := s.broker.QueueStats("q"); st.Dead != 1 {
		t.Fatalf("got %+v, want one dead letter", st)
	}
	status, body := s.call(t, "POST", "/api/v1/queues/q/dlq/requeue", "", "")
	if status != 200 || !reflect.DeepEqual(body, map[string]any{"queue": "q", "requeued": int64(1)}) {
		t.Fatalf("requeue: %d %v", status, body)
	}
	if p, _ := received(t, c); p["payload"] != "poison" {
		t.Errorf("got %v", p)
	}
}

func TestQueue_Restricted(t *testing.T) {
	s := start(t, func(g *gateway.Config, _ *queue.Config) { g.Auth = "pw" })
	c := s.connect(t, wire.JSON, "w", "c", nil) // no password: restricted
	dispatch(c, "QUEUE_REQUEST", map[string]any{"queue": "q"})
	c.ExpectError(3, "invalid dispatch type QUEUE_REQUEST (are you restricted?)")
}

func TestParse(t *testing.T) {
	r, err := queueapi.Parse("QUEUE_NACK", map[string]any{"queue": "q", "id": "i", "delay": int64(1500)})
	if err != nil || r.Delay != 1500*time.Millisecond || r.ID != "i" || r.Queue != "q" {
		t.Errorf("got %+v %v", r, err)
	}
	if _, err := queueapi.Parse("QUEUE", map[string]any{"queue": "q"}); !errors.Is(err, bus.ErrInvalidQueue) {
		t.Errorf("got %v, want ErrInvalidQueue", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"queue":"q","target":null}`, `{"queue":"q","id":"x","delay":5}`, `{"queue":""}`, `[]`, `{"queue":"q","id":"x","delay":-1}`} {
		f.Add("QUEUE_NACK", s)
		f.Add("QUEUE", s)
	}
	f.Fuzz(func(t *testing.T, event, data string) {
		v, err := wire.Decode(wire.JSON, []byte(data), wire.Limits{})
		if err != nil {
			return
		}
		r, err := queueapi.Parse(event, v)
		if err != nil {
			if !errors.Is(err, bus.ErrInvalidQueue) {
				t.Fatalf("%s %s: error %v does not wrap ErrInvalidQueue", event, data, err)
			}
			return
		}
		if queue.CheckName(r.Queue) != nil || r.Delay < 0 {
			t.Fatalf("%s %s: accepted %+v", event, data, r)
		}
	})
}

// TestQueue_ETFStructs checks the raw ETF of QUEUE_CONFIRM and of a delivery: the original's
// QueueConfirm and QueueDispatch structs are atom-keyed maps; the user payload keeps its keys.
func TestQueue_ETFStructs(t *testing.T) {
	s := start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), wstest.WaitFor)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+s.srv.Addr()+"/gateway/websocket?encoding=etf", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	exchange := func(v any) []byte {
		t.Helper()
		if v != nil {
			b, err := etf.Encode(v)
			if err != nil {
				t.Fatal(err)
			}
			if err := ws.Write(ctx, websocket.MessageBinary, b); err != nil {
				t.Fatal(err)
			}
		}
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	exchange(nil) // hello
	exchange(etf.Struct{{Key: "op", Value: 1}, {Key: "d", Value: map[string]any{"client_id": "c", "application_id": "w"}}})
	atom := func(name string) []byte { return append([]byte{119, byte(len(name))}, name...) }
	binKey := func(name string) []byte { return append([]byte{109, 0, 0, 0, byte(len(name))}, name...) }
	confirmed := exchange(map[string]any{"op": int64(4), "t": "QUEUE", "d": map[string]any{
		"queue": "q", "target": nil, "payload": map[string]any{"k": int64(1)}, "nonce": nil}})
	if !bytes.Contains(confirmed, atom("queue")) || !bytes.Contains(confirmed, []byte("QUEUE_CONFIRM")) {
		t.Errorf("QUEUE_CONFIRM %x: want the atom key queue", confirmed)
	}
	got := exchange(map[string]any{"op": int64(4), "t": "QUEUE_REQUEST", "d": map[string]any{"queue": "q"}})
	for _, want := range [][]byte{atom("target"), atom("nonce"), atom("payload"), atom("queue"), atom("id"), binKey("k")} {
		if !bytes.Contains(got, want) {
			t.Errorf("delivery %x lacks %x", got, want)
		}
	}
}
