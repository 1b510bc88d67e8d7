package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/internal/peer"
	"github.com/mahou-go/mahou/bus/internal/wstest"
	"github.com/mahou-go/mahou/bus/proxy"
	"github.com/mahou-go/mahou/bus/queue"
	"github.com/mahou-go/mahou/bus/server"
	"github.com/mahou-go/mahou/bus/wire"
	"github.com/mahou-go/mahou/internal/testutil"
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

// A queue store behind the node's newest raft snapshot (raft keeps a received snapshot before
// the store takes it; a crash in between leaves them apart) is brought up to it on start,
// while the log before the snapshot is gone: every confirmed message is there.
func TestServer_StoreBehindSnapshotCatchesUp(t *testing.T) {
	dir := t.TempDir()
	start := func() *server.Server {
		cfg := server.DefaultConfig()
		cfg.Gateway.Addr, cfg.Gateway.DataDir = "127.0.0.1:0", dir
		cfg.Raft.SnapshotThreshold, cfg.Raft.TrailingLogs, cfg.Raft.SnapshotInterval = 4, 1, 50*time.Millisecond
		s, err := server.New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Open(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	enqueue := func(s *server.Server, from, n int) {
		p := wstest.Connect(t, s.Addr(), wire.JSON, "p", fmt.Sprint("p", from), nil)
		for i := from; i < from+n; i++ {
			p.Send(map[string]any{"op": 4, "t": "QUEUE", "d": map[string]any{"queue": "jobs", "target": nil, "payload": i}})
			if m := p.Expect(4); m["t"] != "QUEUE_CONFIRM" {
				t.Fatalf("got %v", m)
			}
		}
	}
	s := start()
	enqueue(s, 0, 1)
	closeServer(t, s)
	db := filepath.Join(dir, server.QueueFile)
	old, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}

	s = start()
	enqueue(s, 1, 30)
	testutil.Eventually(t, 10*time.Second, "a snapshot past the copy, the log compacted", func() bool {
		st := s.Raft().Status()
		first, _ := st["first_index"].(int64)
		snap, _ := st["last_snapshot_index"].(int64)
		return snap > 10 && first > 10
	})
	closeServer(t, s)
	if err := os.WriteFile(db, old, 0o600); err != nil { // the store as of the first message
		t.Fatal(err)
	}

	s = start()
	defer closeServer(t, s)
	if got := s.Broker().Stats(); len(got) != 1 || got[0].Ready != 31 {
		t.Fatalf("after the restart: %+v, want 31 ready in jobs", got)
	}
}
