package server_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/mahou-go/mahou/internal/testutil"
	"github.com/mahou-go/mahou/kv"
	"github.com/mahou-go/mahou/kv/raftnode"
	"github.com/mahou-go/mahou/kv/server"
)

func startServer(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	cfg.Addr, cfg.RaftAddr, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
	cfg.Raft = raftnode.Config{HeartbeatTimeout: 100 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond, LeaderLeaseTimeout: 50 * time.Millisecond}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

func voters(t *testing.T, s *server.Server) map[string]bool {
	st, err := s.Node().ClusterStatus(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range st.Members {
		out[m.ID] = m.Voter
	}
	return out
}

// A node with the shared secret joins over real TCP and becomes a voter; one with another
// secret is refused and serves nothing.
func TestServer_JoinWithPeerSecret(t *testing.T) {
	a := startServer(t, server.Config{NodeID: "a", PeerSecret: "right"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Node().WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	b := startServer(t, server.Config{NodeID: "b", PeerSecret: "right", Join: []string{a.Addr()}})
	testutil.Eventually(t, 15*time.Second, "b to become a voter", func() bool { return voters(t, a)["b"] })
	if _, err := b.Node().Propose(ctx, kv.Put{Fork: "default", Key: "k", Value: []byte("v")}); err != nil {
		t.Fatalf("write through the joined node: %v", err)
	}
	c := startServer(t, server.Config{NodeID: "c", PeerSecret: "wrong", Join: []string{a.Addr()}})
	time.Sleep(time.Second) // give the refused join time to be tried and refused
	if _, ok := voters(t, a)["c"]; ok {
		t.Fatal("a node with the wrong secret was added")
	}
	if _, err := c.Node().Propose(ctx, kv.Put{Fork: "default", Key: "k", Value: []byte("x")}); !errors.Is(err, kv.ErrNotMember) {
		t.Fatalf("write through the refused node: %v, want not a member", err)
	}
}

func TestConfig_Validate(t *testing.T) {
	cases := map[string]server.Config{
		"bad addr":           {Addr: "nope"},
		"peers without id":   {Peers: []raftnode.Peer{{ID: "a", Addr: "127.0.0.1:1"}}},
		"self not in peers":  {NodeID: "z", Peers: []raftnode.Peer{{ID: "a", Addr: "127.0.0.1:1"}}},
		"peers and join":     {NodeID: "a", Peers: []raftnode.Peer{{ID: "a", Addr: "127.0.0.1:1"}}, Join: []string{"x:1"}},
		"duplicate peer":     {NodeID: "a", Peers: []raftnode.Peer{{ID: "a", Addr: "127.0.0.1:1"}, {ID: "a", Addr: "127.0.0.1:2"}}},
		"cert without key":   {TLS: server.TLSFiles{CertFile: "c.pem"}},
		"client auth w/o CA": {TLS: server.TLSFiles{CertFile: "c", KeyFile: "k", ClientCertAuth: true}},
		"huge values":        {Limits: kv.Limits{MaxValueBytes: 1 << 30}},
		"join without id":    {Join: []string{"127.0.0.1:1"}},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := server.New(cfg); err == nil {
				t.Fatalf("New(%+v) accepted a broken config", cfg)
			}
		})
	}
	if _, err := server.New(server.Config{}); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

// Past --max-connections, new connections wait until one closes.
func TestServer_MaxConnections(t *testing.T) {
	s := startServer(t, server.Config{MaxConnections: 1})
	held, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 300 * time.Millisecond}
	if _, err := client.Get("http://" + s.Addr() + "/healthz"); err == nil {
		t.Fatal("a second connection was served while the limit was reached")
	}
	held.Close()
	testutil.Eventually(t, 10*time.Second, "a connection once the first closed", func() bool {
		resp, err := client.Get("http://" + s.Addr() + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}
