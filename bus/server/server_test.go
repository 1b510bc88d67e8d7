package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/internal/peer"
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

// A node running alone takes no peer connections: its queue group is raft on an in-memory
// transport, so nobody who reaches its port can speak raft to its queues (it has no cluster
// key to check them with).
func TestServer_SingleNodeRefusesPeers(t *testing.T) {
	s := open(t, t.TempDir())
	defer closeServer(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), wstest.WaitFor)
	defer cancel()
	conn, err := peer.Dial(ctx, s.Addr(), "raft.v1", nil, peer.Identity{Node: "intruder", Run: "r"})
	if err == nil {
		conn.Close()
		t.Fatal("a peer connection to a single node was accepted")
	}
	resp, err := http.Get("http://" + s.Addr() + "/internal/v1/peer?proto=raft.v1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /internal/v1/peer on a single node: %s, want 404", resp.Status)
	}
}
