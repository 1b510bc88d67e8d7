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
	"github.com/mahou-go/mahou/bus/internal/wstest"
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

// rawClient is the raw websocket client of the bus tests.
type rawClient = wstest.Client

func dial(tb testing.TB, addr string, enc wire.Encoding) *rawClient {
	return wstest.Dial(tb, addr, enc)
}

func connect(tb testing.TB, srv *gateway.Server, enc wire.Encoding, app, id string, extra map[string]any) *rawClient {
	tb.Helper()
	return wstest.Connect(tb, srv.Addr(), enc, app, id, extra)
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
