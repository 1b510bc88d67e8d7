package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/wire"
)

// waitFor is how long a test waits for something that should happen at once.
const waitFor = 5 * time.Second

// testLogger routes the server's log to t.Log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Helper()
	w.tb.Log(string(p))
	return len(p), nil
}

// startServer starts an in-process server on 127.0.0.1:0 and stops it at cleanup.
func startServer(tb testing.TB, mutate func(*gateway.Config)) *gateway.Server {
	tb.Helper()
	cfg := gateway.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = tb.TempDir()
	if mutate != nil {
		mutate(&cfg)
	}
	log := slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := gateway.NewServer(cfg, log)
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			tb.Errorf("close server: %v", err)
		}
	})
	return srv
}

// rawClient speaks raw frames: it encodes what the test gives it and decodes what it reads,
// in one of the three encodings.
type rawClient struct {
	tb     testing.TB
	ws     *websocket.Conn
	enc    wire.Encoding
	frames chan map[string]any
	closed chan error // receives the read error once the connection ends
}

func dial(tb testing.TB, addr string, enc wire.Encoding) *rawClient {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, fmt.Sprintf("ws://%s/gateway/websocket?encoding=%s", addr, enc), nil)
	if err != nil {
		tb.Fatal(err)
	}
	ws.SetReadLimit(-1)
	c := &rawClient{tb: tb, ws: ws, enc: enc, frames: make(chan map[string]any, 1024), closed: make(chan error, 1)}
	go c.readLoop()
	tb.Cleanup(func() { ws.CloseNow() })
	return c
}

func (c *rawClient) readLoop() {
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			close(c.frames)
			c.closed <- err
			return
		}
		if (typ == websocket.MessageText) != (c.enc == wire.JSON) {
			c.closed <- fmt.Errorf("frame type %v for encoding %s", typ, c.enc)
			close(c.frames)
			return
		}
		v, err := wire.Decode(c.enc, data, wire.Limits{})
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			c.closed <- fmt.Errorf("undecodable server frame %q: %v", data, err)
			close(c.frames)
			return
		}
		c.frames <- m
	}
}

// send encodes v in the client's encoding and writes it in the matching frame type.
func (c *rawClient) send(v any) {
	c.tb.Helper()
	b, err := wire.Encode(c.enc, v)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.sendBytes(c.frameType(), b)
}

func (c *rawClient) frameType() websocket.MessageType {
	if c.enc == wire.JSON {
		return websocket.MessageText
	}
	return websocket.MessageBinary
}

func (c *rawClient) sendBytes(typ websocket.MessageType, b []byte) {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := c.ws.Write(ctx, typ, b); err != nil {
		c.tb.Fatal(err)
	}
}

// next returns the next frame, failing the test if none comes in time.
func (c *rawClient) next() map[string]any {
	c.tb.Helper()
	select {
	case m, ok := <-c.frames:
		if !ok {
			c.tb.Fatalf("connection closed while waiting for a frame: %v", <-c.closed)
		}
		return m
	case <-time.After(waitFor):
		c.tb.Fatal("no frame within", waitFor)
	}
	return nil
}

// expect returns the next frame and checks its op.
func (c *rawClient) expect(op int64) map[string]any {
	c.tb.Helper()
	m := c.next()
	if m["op"] != op {
		c.tb.Fatalf("got frame %v, want op %d", m, op)
	}
	return m
}

// expectError reads the next frame and checks it is op with d.error == msg.
func (c *rawClient) expectError(op int64, msg string) map[string]any {
	c.tb.Helper()
	m := c.expect(op)
	d, _ := m["d"].(map[string]any)
	if d["error"] != msg {
		c.tb.Fatalf("got error %#v, want %q", d["error"], msg)
	}
	return d
}

// expectClosed waits for the server to close the connection and returns the close code.
func (c *rawClient) expectClosed() websocket.StatusCode {
	c.tb.Helper()
	select {
	case m, ok := <-c.frames:
		if ok {
			c.tb.Fatalf("got frame %v, want the connection closed", m)
		}
	case <-time.After(waitFor):
		c.tb.Fatal("connection not closed within", waitFor)
	}
	return websocket.CloseStatus(<-c.closed)
}

// expectSilence checks that no frame arrives before a ping round trip through the server: a
// heartbeat is answered after everything the server queued before it.
func (c *rawClient) expectSilence(clientID string) {
	c.tb.Helper()
	c.send(map[string]any{"op": 5, "d": map[string]any{"client_id": clientID}})
	m := c.next()
	if m["op"] != int64(6) {
		c.tb.Fatalf("got frame %v, want nothing before the heartbeat ack", m)
	}
}

// identify reads hello, identifies and reads ready.
func (c *rawClient) identify(app, id string, extra map[string]any) map[string]any {
	c.tb.Helper()
	c.expect(0)
	d := map[string]any{"client_id": id, "application_id": app}
	for k, v := range extra {
		d[k] = v
	}
	c.send(map[string]any{"op": 1, "d": d})
	return c.expect(2)
}

func connect(tb testing.TB, srv *gateway.Server, enc wire.Encoding, app, id string, extra map[string]any) *rawClient {
	tb.Helper()
	c := dial(tb, srv.Addr(), enc)
	c.identify(app, id, extra)
	return c
}

func httpGet(tb testing.TB, url string) *http.Response {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { resp.Body.Close() })
	return resp
}

var errTimeout = errors.New("timeout")

// eventually polls cond until it holds or the deadline passes.
func eventually(tb testing.TB, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatal(errTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dialRaw opens a websocket without any reader, for tests that read raw bytes themselves.
func dialRaw(tb testing.TB, addr, enc string) *websocket.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, fmt.Sprintf("ws://%s/gateway/websocket?encoding=%s", addr, enc), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ws.CloseNow() })
	return ws
}

func write(tb testing.TB, ws *websocket.Conn, b []byte) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageBinary, b); err != nil {
		tb.Fatal(err)
	}
}

// httpGetErr GETs /healthz and returns the response, or nil when nothing answers.
func httpGetErr(addr string) *http.Response {
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return nil
	}
	resp.Body.Close()
	return resp
}
