package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/internal/wstest"
	"github.com/mahou-go/mahou/bus/proxy"
	"github.com/mahou-go/mahou/bus/queue"
	"github.com/mahou-go/mahou/bus/server"
	"github.com/mahou-go/mahou/bus/wire"
)

func open(t *testing.T, dir string) *server.Server {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Gateway.Addr, cfg.Gateway.DataDir = "127.0.0.1:0", dir
	s, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	return s
}

func closeServer(t *testing.T, s *server.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wstest.WaitFor)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestServer_QueuesSurviveARestart runs a node, enqueues, restarts it on the same data
// directory and consumes what was confirmed.
func TestServer_QueuesSurviveARestart(t *testing.T) {
	dir := t.TempDir() + "/data" // created by Open
	s := open(t, dir)
	p := wstest.Connect(t, s.Addr(), wire.JSON, "p", "p", nil)
	p.Send(map[string]any{"op": 4, "t": "QUEUE", "d": map[string]any{"queue": "jobs", "target": nil, "payload": "kept"}})
	if m := p.Expect(4); m["t"] != "QUEUE_CONFIRM" {
		t.Fatalf("got %v", m)
	}
	closeServer(t, s)

	s = open(t, dir)
	defer closeServer(t, s)
	c := wstest.Connect(t, s.Addr(), wire.ETF, "w", "c", nil)
	c.Send(map[string]any{"op": 4, "t": "QUEUE_REQUEST", "d": map[string]any{"queue": "jobs"}})
	m := c.Expect(4)
	if p := m["d"].(map[string]any)["payload"].(map[string]any); m["t"] != "QUEUE" || p["payload"] != "kept" {
		t.Errorf("got %v", m)
	}
	if got := s.Broker().Stats(); len(got) != 1 || got[0].InFlight != 1 {
		t.Errorf("stats %+v", got)
	}
}

func TestConfig_Validate(t *testing.T) {
	cfg := server.DefaultConfig()
	cfg.Gateway.Addr = "nope"
	cfg.Queue.MaxDeliveries = 0
	cfg.Proxy.Timeout = 0
	err := cfg.Validate()
	if !errors.Is(err, gateway.ErrConfig) || !errors.Is(err, queue.ErrConfig) || !errors.Is(err, proxy.ErrConfig) ||
		!strings.Contains(err.Error(), "max deliveries") {
		t.Errorf("got %v, want the gateway, queue and proxy rules", err)
	}
	if _, err := server.New(cfg, nil); err == nil {
		t.Error("New accepted a broken config")
	}
}
