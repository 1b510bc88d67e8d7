package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/wire"
)

var encodings = []wire.Encoding{wire.JSON, wire.Msgpack, wire.ETF}

// forEachEncoding runs f once per encoding against one shared server.
func forEachEncoding(t *testing.T, f func(t *testing.T, srv *gateway.Server, enc wire.Encoding)) {
	t.Helper()
	srv := startServer(t, nil)
	for _, enc := range encodings {
		t.Run(string(enc), func(t *testing.T) { f(t, srv, enc) })
	}
}

// checkEnvelope checks that a server frame carries op, d, t and an integer ts.
func checkEnvelope(t *testing.T, m map[string]any, wantT any) {
	t.Helper()
	for _, k := range []string{"op", "d", "t", "ts"} {
		if _, ok := m[k]; !ok {
			t.Errorf("frame %v lacks %q", m, k)
		}
	}
	if _, ok := m["ts"].(int64); !ok {
		t.Errorf("ts = %#v, want an integer", m["ts"])
	}
	if m["t"] != wantT {
		t.Errorf("t = %#v, want %#v", m["t"], wantT)
	}
}

func TestProtocol_HelloReadyHeartbeat(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, srv *gateway.Server, enc wire.Encoding) {
		c := dial(t, srv.Addr(), enc)
		hello := c.Expect(0)
		checkEnvelope(t, hello, nil)
		if got := hello["d"].(map[string]any)["heartbeat_interval"]; got != int64(45000) {
			t.Errorf("heartbeat_interval = %#v, want 45000", got)
		}
		c.Send(map[string]any{"op": 1, "d": map[string]any{"client_id": "c1", "application_id": "app-" + string(enc)}})
		ready := c.Expect(2)
		checkEnvelope(t, ready, nil)
		d := ready["d"].(map[string]any)
		if d["client_id"] != "c1" || d["restricted"] != false {
			t.Errorf("ready d = %v, want client_id c1, restricted false", d)
		}
		// A heartbeat right after identify (the Python client), and one without d.
		c.Send(map[string]any{"op": 5, "d": map[string]any{"client_id": "someone-else"}})
		ack := c.Expect(6)
		checkEnvelope(t, ack, nil)
		if got := ack["d"].(map[string]any)["client_id"]; got != "c1" {
			t.Errorf("heartbeat_ack client_id = %v, want c1 (from identify, not the request)", got)
		}
		c.Send(map[string]any{"op": 5})
		c.Expect(6)
	})
}

func TestProtocol_OpBeforeIdentify(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, srv *gateway.Server, enc wire.Encoding) {
		for _, op := range []int64{0, 2, 3, 4, 5, 6, 7, 8, 42} {
			c := dial(t, srv.Addr(), enc)
			c.Expect(0)
			c.Send(map[string]any{"op": op, "d": map[string]any{}})
			d := c.ExpectError(8, "sent payload with non-identify opcode without identifying first")
			if _, ok := d["extra_info"]; !ok {
				t.Errorf("op 8 d %v lacks extra_info", d)
			}
			if code := c.ExpectClosed(); code != websocket.StatusNormalClosure {
				t.Errorf("op %d: close code %v, want 1000", op, code)
			}
		}
	})
}

func TestProtocol_InvalidClientOp(t *testing.T) {
	cases := map[int64]string{
		0: "invalid client op :hello", 2: "invalid client op :ready", 3: "invalid client op :invalid",
		6: "invalid client op :heartbeat_ack", 7: "invalid client op :goodbye", 8: "invalid client op :error",
		9: "invalid client op nil", -1: "invalid client op nil",
	}
	forEachEncoding(t, func(t *testing.T, srv *gateway.Server, enc wire.Encoding) {
		for op, want := range cases {
			c := connect(t, srv, enc, "ops", "c", nil)
			c.Send(map[string]any{"op": op, "d": nil})
			c.ExpectError(8, want)
			if code := c.ExpectClosed(); code != websocket.StatusNormalClosure {
				t.Errorf("close code %v, want 1000", code)
			}
		}
	})
}

func TestProtocol_IdentifyErrors(t *testing.T) {
	cases := []struct {
		name  string
		frame any
		want  string
	}{
		{"d not a map", map[string]any{"op": 1, "d": "x"}, "decode: payload: unrecoverable"},
		{"no d", map[string]any{"op": 1}, "decode: payload: unrecoverable"},
		{"no client_id", map[string]any{"op": 1, "d": map[string]any{"application_id": "a"}}, "decode: payload: unrecoverable"},
		{"no application_id", map[string]any{"op": 1, "d": map[string]any{"client_id": "c"}}, "decode: payload: unrecoverable"},
		{"client_id not a string", map[string]any{"op": 1, "d": map[string]any{"client_id": int64(1), "application_id": "a"}}, "payload has no data"},
		{"application_id null", map[string]any{"op": 1, "d": map[string]any{"client_id": "c", "application_id": nil}}, "payload has no data"},
		{"top level not a map", []any{int64(1)}, "decode: payload: unrecoverable"},
		{"op not an integer", map[string]any{"op": "1", "d": map[string]any{}}, "decode: payload: unrecoverable"},
		{"op a float", map[string]any{"op": 1.0, "d": map[string]any{}}, "decode: payload: unrecoverable"},
		{"no op", map[string]any{"d": map[string]any{}}, "decode: payload: unrecoverable"},
		{"bad initial metadata", map[string]any{"op": 1, "d": map[string]any{"client_id": "c", "application_id": "a",
			"metadata": map[string]any{"x": map[string]any{"type": "integer", "value": "1"}}}}, "initial metadata: invalid"},
	}
	forEachEncoding(t, func(t *testing.T, srv *gateway.Server, enc wire.Encoding) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := dial(t, srv.Addr(), enc)
				c.Expect(0)
				c.Send(tc.frame)
				d := c.ExpectError(8, tc.want)
				if tc.name == "bad initial metadata" {
					info, _ := d["extra_info"].(map[string]any)
					if info["x"] != "x: value fails validation for 'integer'" {
						t.Errorf("extra_info = %v", d["extra_info"])
					}
				}
				c.ExpectClosed()
			})
		}
	})
}

func TestProtocol_AlreadyRegistered(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, srv *gateway.Server, enc wire.Encoding) {
		app := "dup-" + string(enc)
		first := connect(t, srv, enc, app, "c1", nil)
		second := dial(t, srv.Addr(), enc)
		second.Expect(0)
		second.Send(map[string]any{"op": 1, "d": map[string]any{"client_id": "c1", "application_id": app}})
		second.ExpectError(8, "c1: already registered for app "+app)
		second.ExpectClosed()
		first.ExpectSilence("c1")

		// A second identify on the same socket is fatal too, and frees the registration.
		first.Send(map[string]any{"op": 1, "d": map[string]any{"client_id": "c1", "application_id": app}})
		first.ExpectError(8, "c1: already registered for app "+app)
		first.ExpectClosed()
		connect(t, srv, enc, app, "c1", nil)
	})
}

func TestProtocol_DecodeErrors(t *testing.T) {
	srv := startServer(t, nil)
	cases := []struct {
		enc  wire.Encoding
		typ  websocket.MessageType
		data []byte
		want string
	}{
		{wire.JSON, websocket.MessageText, []byte("xyz"), `unexpected byte at position 0: 0x78 ("x")`},
		{wire.JSON, websocket.MessageText, []byte(`{"op":1,`), "unexpected end of input at position 8"},
		{wire.Msgpack, websocket.MessageBinary, []byte{0xc1}, "invalid format, first byte: 193"},
		{wire.Msgpack, websocket.MessageBinary, []byte{0x82, 0xa2}, "given binary is incomplete"},
		{wire.ETF, websocket.MessageBinary, []byte{1, 2, 3}, "etf: missing version byte 131"},
		{wire.JSON, websocket.MessageBinary, []byte(`{"op":5}`), "decode: payload: invalid websocket opcode/encoding combo: {binary, json}"},
		{wire.Msgpack, websocket.MessageText, []byte(`{"op":5}`), "decode: payload: invalid websocket opcode/encoding combo: {text, msgpack}"},
		{wire.ETF, websocket.MessageText, []byte(`{"op":5}`), "decode: payload: invalid websocket opcode/encoding combo: {text, etf}"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			c := dial(t, srv.Addr(), tc.enc)
			c.Expect(0)
			c.SendBytes(tc.typ, tc.data)
			c.ExpectError(8, tc.want)
			if code := c.ExpectClosed(); code != websocket.StatusNormalClosure {
				t.Errorf("close code %v, want 1000", code)
			}
		})
	}
}

func TestProtocol_UnknownDispatchIsOp3(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, srv *gateway.Server, enc wire.Encoding) {
		c := connect(t, srv, enc, "unknown-"+string(enc), "c", nil)
		for _, typ := range []any{"NOPE", "QUEUE", "QUEUE_REQUEST", "QUEUE_REQUEST_CANCEL", "QUEUE_ACK", int64(7), nil} {
			c.Send(map[string]any{"op": 4, "t": typ, "d": map[string]any{"queue": "q"}, "ts": int64(5)})
			d := c.ExpectError(3, "invalid dispatch payload")
			info, _ := d["extra_info"].(map[string]any)
			if info["op"] != "dispatch" || info["t"] != typ || info["ts"] != int64(5) {
				t.Errorf("%v: extra_info = %v, want op dispatch, t and ts echoed", typ, info)
			}
		}
		c.ExpectSilence("c")
	})
}

func TestProtocol_ServerCloseSaysGoodbye(t *testing.T) {
	srv := startServer(t, nil)
	c := connect(t, srv, wire.JSON, "bye", "c", nil)
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		closed <- srv.Close(ctx)
	}()
	d := c.Expect(7)["d"].(map[string]any)
	if d["reason"] != "server shutting down" {
		t.Errorf("goodbye reason = %v", d["reason"])
	}
	if code := c.ExpectClosed(); code != websocket.StatusNormalClosure {
		t.Errorf("close code %v, want 1000 after goodbye", code)
	}
	if err := <-closed; err != nil {
		t.Errorf("close: %v", err)
	}
}

// TestProtocol_FragmentedMessages sends each frame split into one-byte websocket fragments:
// the server must reassemble them into one message before decoding.
func TestProtocol_FragmentedMessages(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, srv *gateway.Server, enc wire.Encoding) {
		c := dial(t, srv.Addr(), enc)
		c.Expect(0)
		fragmented := func(v any) {
			t.Helper()
			b, err := wire.Encode(enc, v)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			w, err := c.WS.Writer(ctx, c.FrameType())
			if err != nil {
				t.Fatal(err)
			}
			for i := range b {
				if _, err := w.Write(b[i : i+1]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
		fragmented(map[string]any{"op": 1, "d": map[string]any{"client_id": "c", "application_id": "frag-" + string(enc)}})
		c.Expect(2)
		fragmented(map[string]any{"op": 4, "t": "SEND", "d": map[string]any{"target": map[string]any{"application": "frag-" + string(enc)}, "payload": "whole"}})
		if got := c.Expect(4)["d"].(map[string]any)["payload"]; got != "whole" {
			t.Errorf("got payload %v", got)
		}
	})
}

// TestProtocol_FrameSentWithTheUpgrade sends the upgrade request and the identify frame in one
// write, as a client that does not wait for the 101 does: the HTTP server reads part of the
// frame with the request, and those bytes must still reach the websocket reader (they were
// lost, and the frame misparsed as "unexpected rsv bits", before batchConn kept them).
func TestProtocol_FrameSentWithTheUpgrade(t *testing.T) {
	srv := startServer(t, nil)
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(waitFor))
	identify := []byte(`{"op":1,"d":{"client_id":"eager","application_id":"eager"}}`)
	frame := []byte{0x81, 0x80 | byte(len(identify)), 1, 2, 3, 4} // FIN + text, masked, key 1 2 3 4
	for i, c := range identify {
		frame = append(frame, c^byte(1+i%4))
	}
	req := "GET /gateway/websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := nc.Write(append([]byte(req), frame...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	for _, want := range []string{`"op":0`, `"op":2`} { // hello, then ready
		var hdr [2]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			t.Fatal(err)
		}
		n := int(hdr[1] & 0x7f)
		if n == 126 {
			var ext [2]byte
			io.ReadFull(br, ext[:])
			n = int(ext[0])<<8 | int(ext[1])
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(payload, []byte(want)) {
			t.Fatalf("got %s, want a frame with %s", payload, want)
		}
	}
}
