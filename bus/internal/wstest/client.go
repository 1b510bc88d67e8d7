package wstest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mahou-go/mahou/bus/wire"
)

// WaitFor is how long a Client waits for something that should happen at once.
const WaitFor = 5 * time.Second

// Client speaks raw frames: it encodes what the test gives it and decodes what it reads, in
// one of the three encodings.
type Client struct {
	TB     testing.TB
	WS     *websocket.Conn
	Enc    wire.Encoding
	Frames chan map[string]any
	Closed chan error // receives the read error once the connection ends
}

// Dial opens a websocket to the gateway at addr; it is closed at test cleanup.
func Dial(tb testing.TB, addr string, enc wire.Encoding) *Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitFor)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, fmt.Sprintf("ws://%s/gateway/websocket?encoding=%s", addr, enc), nil)
	if err != nil {
		tb.Fatal(err)
	}
	ws.SetReadLimit(-1)
	c := &Client{TB: tb, WS: ws, Enc: enc, Frames: make(chan map[string]any, 1024), Closed: make(chan error, 1)}
	go c.readLoop()
	tb.Cleanup(func() { ws.CloseNow() })
	return c
}

// Connect dials and identifies as app/id with the extra identify fields.
func Connect(tb testing.TB, addr string, enc wire.Encoding, app, id string, extra map[string]any) *Client {
	tb.Helper()
	c := Dial(tb, addr, enc)
	c.Identify(app, id, extra)
	return c
}

func (c *Client) readLoop() {
	for {
		typ, data, err := c.WS.Read(context.Background())
		if err != nil {
			close(c.Frames)
			c.Closed <- err
			return
		}
		if (typ == websocket.MessageText) != (c.Enc == wire.JSON) {
			c.Closed <- fmt.Errorf("frame type %v for encoding %s", typ, c.Enc)
			close(c.Frames)
			return
		}
		v, err := wire.Decode(c.Enc, data, wire.Limits{})
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			c.Closed <- fmt.Errorf("undecodable server frame %q: %v", data, err)
			close(c.Frames)
			return
		}
		c.Frames <- m
	}
}

// Send encodes v in the client's encoding and writes it in the matching frame type.
func (c *Client) Send(v any) {
	c.TB.Helper()
	b, err := wire.Encode(c.Enc, v)
	if err != nil {
		c.TB.Fatal(err)
	}
	c.SendBytes(c.FrameType(), b)
}

// FrameType is the websocket message type of the client's encoding.
func (c *Client) FrameType() websocket.MessageType {
	if c.Enc == wire.JSON {
		return websocket.MessageText
	}
	return websocket.MessageBinary
}

// SendBytes writes b as one message of type typ.
func (c *Client) SendBytes(typ websocket.MessageType, b []byte) {
	c.TB.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitFor)
	defer cancel()
	if err := c.WS.Write(ctx, typ, b); err != nil {
		c.TB.Fatal(err)
	}
}

// Next returns the next frame, failing the test if none comes in time.
func (c *Client) Next() map[string]any {
	c.TB.Helper()
	select {
	case m, ok := <-c.Frames:
		if !ok {
			c.TB.Fatalf("connection closed while waiting for a frame: %v", <-c.Closed)
		}
		return m
	case <-time.After(WaitFor):
		c.TB.Fatal("no frame within", WaitFor)
	}
	return nil
}

// Expect returns the next frame and checks its op.
func (c *Client) Expect(op int64) map[string]any {
	c.TB.Helper()
	m := c.Next()
	if m["op"] != op {
		c.TB.Fatalf("got frame %v, want op %d", m, op)
	}
	return m
}

// ExpectError reads the next frame and checks it is op with d.error == msg; it returns d.
func (c *Client) ExpectError(op int64, msg string) map[string]any {
	c.TB.Helper()
	m := c.Expect(op)
	d, _ := m["d"].(map[string]any)
	if d["error"] != msg {
		c.TB.Fatalf("got error %#v (%v), want %q", d["error"], d["extra_info"], msg)
	}
	return d
}

// ExpectClosed waits for the server to close the connection and returns the close code.
func (c *Client) ExpectClosed() websocket.StatusCode {
	c.TB.Helper()
	select {
	case m, ok := <-c.Frames:
		if ok {
			c.TB.Fatalf("got frame %v, want the connection closed", m)
		}
	case <-time.After(WaitFor):
		c.TB.Fatal("connection not closed within", WaitFor)
	}
	return websocket.CloseStatus(<-c.Closed)
}

// ExpectSilence checks that no frame arrives before a ping round trip through the server: a
// heartbeat is answered after everything the server queued before it.
func (c *Client) ExpectSilence(clientID string) {
	c.TB.Helper()
	c.Send(map[string]any{"op": 5, "d": map[string]any{"client_id": clientID}})
	m := c.Next()
	if m["op"] != int64(6) {
		c.TB.Fatalf("got frame %v, want nothing before the heartbeat ack", m)
	}
}

// Identify reads hello, identifies and reads ready.
func (c *Client) Identify(app, id string, extra map[string]any) map[string]any {
	c.TB.Helper()
	c.Expect(0)
	d := map[string]any{"client_id": id, "application_id": app}
	for k, v := range extra {
		d[k] = v
	}
	c.Send(map[string]any{"op": 1, "d": d})
	return c.Expect(2)
}
