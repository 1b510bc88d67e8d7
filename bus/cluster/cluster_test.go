package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/cluster"
	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/internal/peer"
	"github.com/mahou-go/mahou/bus/internal/wstest"
	"github.com/mahou-go/mahou/bus/wire"
)

// node is a gateway with a cluster, on 127.0.0.1:0 ports.
type node struct {
	id string
	gw *gateway.Server
	c  *cluster.Cluster
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

func testLogger(tb testing.TB, id string) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(tWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", id)
	}
	return nil
}

type tWriter struct{ tb testing.TB }

func (w tWriter) Write(p []byte) (int, error) { w.tb.Log(string(p)); return len(p), nil }

func startNode(tb testing.TB, id string, join []string, mutate func(*cluster.Config)) *node {
	tb.Helper()
	return startNodeWith(tb, id, join, mutate, nil)
}

// startNodeWith is startNode that calls before on the cluster before it opens (for hooks).
func startNodeWith(tb testing.TB, id string, join []string, mutate func(*cluster.Config), before func(*cluster.Cluster)) *node {
	tb.Helper()
	gcfg := gateway.DefaultConfig()
	gcfg.Addr, gcfg.DataDir = "127.0.0.1:0", tb.TempDir()
	log := testLogger(tb, id)
	gw, err := gateway.NewServer(gcfg, log)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := cluster.DefaultConfig()
	cfg.NodeID, cfg.BindAddr, cfg.Join, cfg.Key = id, "127.0.0.1:0", join, testKey
	cfg.ProbeInterval, cfg.GossipInterval, cfg.BalanceInterval = 100*time.Millisecond, 20*time.Millisecond, 0
	if mutate != nil {
		mutate(&cfg)
	}
	hub := peer.NewHub(testKey, peer.Identity{Node: id, Run: cluster.NewRunID()})
	c, err := cluster.New(cfg, gw, hub, log)
	if err != nil {
		tb.Fatal(err)
	}
	if err := gw.HandleHTTP(peer.Route, hub); err != nil {
		tb.Fatal(err)
	}
	if err := gw.Listen(); err != nil {
		tb.Fatal(err)
	}
	if before != nil {
		before(c)
	}
	if err := c.Open(); err != nil {
		tb.Fatal(err)
	}
	if err := gw.Start(); err != nil {
		tb.Fatal(err)
	}
	n := &node{id: id, gw: gw, c: c}
	tb.Cleanup(func() { n.stop(tb) })
	return n
}

func (n *node) stop(tb testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.gw.Close(ctx); err != nil {
		tb.Errorf("close gateway %s: %v", n.id, err)
	}
	if err := n.c.Close(ctx); err != nil {
		tb.Errorf("close cluster %s: %v", n.id, err)
	}
}

// startCluster starts n nodes, each joining the first, and waits until each sees all.
func startCluster(tb testing.TB, n int, mutate func(*cluster.Config)) []*node {
	tb.Helper()
	nodes := []*node{startNode(tb, "n1", nil, mutate)}
	for i := 2; i <= n; i++ {
		nodes = append(nodes, startNode(tb, fmt.Sprintf("n%d", i), []string{nodes[0].c.ClusterAddr()}, mutate))
	}
	for _, nd := range nodes {
		eventually(tb, 10*time.Second, nd.id+" links to every member", func() bool {
			synced := 0
			for _, m := range nd.c.Members() {
				if m.Link == "synced" {
					synced++
				}
			}
			return synced == n-1
		})
	}
	return nodes
}

func eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// seen waits until node nd knows client app/id.
func seen(tb testing.TB, nd *node, app, id string) {
	tb.Helper()
	eventually(tb, 5*time.Second, fmt.Sprintf("%s sees %s/%s", nd.id, app, id), func() bool {
		_, ok := nd.gw.Finder().Get(bus.ClientKey{App: app, ID: id})
		return ok
	})
}

func TestCluster_SendAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	recv := wstest.Connect(t, nodes[1].gw.Addr(), wire.ETF, "worker", "w1", nil)
	for _, nd := range nodes {
		seen(t, nd, "worker", "w1")
	}
	sender := wstest.Connect(t, nodes[0].gw.Addr(), wire.JSON, "api", "s1", nil)
	sender.Send(map[string]any{"op": 4, "t": "SEND", "d": map[string]any{
		"target": map[string]any{"application": "worker"}, "payload": map[string]any{"n": 1.5}, "nonce": "x"}})
	m := recv.Expect(4)
	d := m["d"].(map[string]any)
	if m["t"] != "SEND" || d["nonce"] != "x" || d["payload"].(map[string]any)["n"] != 1.5 {
		t.Errorf("got %v", m)
	}
}

// The link a node opened to this one carries its answers to what this node sent it (the queue
// leader's replies): when only that direction breaks, the peer-down hooks run too, so that what
// waits for an answer is failed or placed again instead of waiting forever.
func TestCluster_InboundLinkLossRunsPeerDown(t *testing.T) {
	var mu sync.Mutex
	var downs []string
	n1 := startNodeWith(t, "n1", nil, nil, func(c *cluster.Cluster) {
		if err := c.OnPeerDown(func(node string) { mu.Lock(); downs = append(downs, node); mu.Unlock() }); err != nil {
			t.Fatal(err)
		}
	})
	n2 := startNode(t, "n2", []string{n1.c.ClusterAddr()}, nil)
	eventually(t, 10*time.Second, "n1 and n2 linked both ways", func() bool {
		for _, nd := range []*node{n1, n2} {
			if ms := nd.c.Members(); len(ms) != 2 || ms[0].Link != "self" && ms[0].Link != "synced" || ms[1].Link != "self" && ms[1].Link != "synced" {
				return false
			}
		}
		return true
	})
	mu.Lock()
	downs = nil
	mu.Unlock()
	if !n1.c.CloseInbound("n2") {
		t.Fatal("n1 has no link from n2")
	}
	eventually(t, 5*time.Second, "n1's peer-down hook runs for n2", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(downs) > 0 && downs[0] == "n2"
	})
}

// A peer connection from a node id that membership does not know (it passed the handshake: it
// holds the key) is refused: its clients are never registered and it is no member.
func TestCluster_LinkFromANonMemberIsRefused(t *testing.T) {
	n1 := startNode(t, "n1", nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := peer.Dial(ctx, n1.gw.Addr(), "link.v1", testKey, peer.Identity{Node: "ghost", Run: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("n1 kept the link of a node that is not a member open (read: %v)", err)
	}
	for _, m := range n1.c.Members() {
		if m.ID == "ghost" {
			t.Fatalf("ghost became a member: %+v", m)
		}
	}
}
