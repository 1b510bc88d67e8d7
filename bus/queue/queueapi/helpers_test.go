package queueapi_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/internal/wstest"
	"github.com/mahou-go/mahou/bus/queue"
	busserver "github.com/mahou-go/mahou/bus/server"
	"github.com/mahou-go/mahou/bus/wire"
)

var encodings = []wire.Encoding{wire.JSON, wire.Msgpack, wire.ETF}

// server is a whole node (bus/server: gateway, queues, proxy) on 127.0.0.1:0.
type server struct {
	srv    *gateway.Server
	broker *queue.Broker
}

func start(tb testing.TB, mutate func(*gateway.Config, *queue.Config)) *server {
	tb.Helper()
	cfg := busserver.DefaultConfig()
	cfg.Gateway.Addr, cfg.Gateway.DataDir = "127.0.0.1:0", tb.TempDir()
	if mutate != nil {
		mutate(&cfg.Gateway, &cfg.Queue)
	}
	node, err := busserver.New(cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := node.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wstest.WaitFor)
		defer cancel()
		if err := node.Close(ctx); err != nil {
			tb.Errorf("close node: %v", err)
		}
	})
	return &server{srv: node.Gateway(), broker: node.Broker()}
}

func (s *server) connect(tb testing.TB, enc wire.Encoding, app, id string, extra map[string]any) *wstest.Client {
	tb.Helper()
	return wstest.Connect(tb, s.srv.Addr(), enc, app, id, extra)
}

func dispatch(c *wstest.Client, t string, d any) {
	c.Send(map[string]any{"op": 4, "t": t, "d": d, "ts": int64(1)})
}

func enqueue(c *wstest.Client, queue string, target, payload, nonce any) {
	dispatch(c, "QUEUE", map[string]any{"queue": queue, "target": target, "payload": payload, "nonce": nonce})
}

// confirm reads the next frame and checks it is QUEUE_CONFIRM for queue.
func confirm(tb testing.TB, c *wstest.Client, queue string) {
	tb.Helper()
	m := c.Expect(4)
	if m["t"] != "QUEUE_CONFIRM" || m["d"].(map[string]any)["queue"] != queue || len(m["d"].(map[string]any)) != 1 {
		tb.Fatalf("got %v, want QUEUE_CONFIRM {queue: %s}", m, queue)
	}
}

// received reads the next frame, checks it is a QUEUE delivery, and returns its payload map
// ({queue, payload, id}) and nonce.
func received(tb testing.TB, c *wstest.Client) (map[string]any, any) {
	tb.Helper()
	m := c.Expect(4)
	d, _ := m["d"].(map[string]any)
	p, _ := d["payload"].(map[string]any)
	if m["t"] != "QUEUE" || d["target"] != nil || len(d) != 3 || len(p) != 3 || p["id"] == nil {
		tb.Fatalf("got %v, want a QUEUE delivery {target: null, nonce, payload: {queue, payload, id}}", m)
	}
	if _, ok := m["ts"].(int64); !ok {
		tb.Fatalf("got %v, want an integer ts", m)
	}
	return p, d["nonce"]
}

func app(name string) map[string]any { return map[string]any{"application": name} }

// call makes an HTTP request to the server and returns the status and the decoded body.
func (s *server) call(tb testing.TB, method, path, auth, body string) (int, any) {
	tb.Helper()
	req, err := http.NewRequest(method, "http://"+s.srv.Addr()+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := wire.Decode(wire.JSON, b, wire.Limits{})
	if err != nil {
		tb.Fatalf("%s %s: body %q: %v", method, path, b, err)
	}
	return resp.StatusCode, v
}

// eventually polls cond until it holds or the deadline passes.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(wstest.WaitFor)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
