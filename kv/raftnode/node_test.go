package raftnode_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mahou-go/mahou/kv"
	"github.com/mahou-go/mahou/kv/raftnode"
)

func openNode(t testing.TB, dir string, cfg raftnode.Config) *raftnode.Node {
	t.Helper()
	cfg.DataDir = dir
	cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 100*time.Millisecond, 100*time.Millisecond, 50*time.Millisecond
	n := raftnode.New(cfg)
	if err := n.Open(); err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return n
}

func closeNode(t testing.TB, n *raftnode.Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// propose retries while a freshly elected leader settles.
func propose(t testing.TB, n *raftnode.Node, cmd kv.Command) kv.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		r, err := n.Propose(ctx, cmd)
		if err == nil {
			if r.Err != nil {
				t.Fatalf("Propose %T: %v", cmd, r.Err)
			}
			return r
		}
		if !errors.Is(err, kv.ErrNotLeader) || ctx.Err() != nil {
			t.Fatalf("Propose %T: %v", cmd, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNode_SingleVoterRestart(t *testing.T) {
	dir := t.TempDir()
	n := openNode(t, dir, raftnode.Config{})
	id := n.ID()
	for i := 0; i < 20; i++ {
		propose(t, n, kv.Put{Fork: "default", Key: "k", Value: []byte(fmt.Sprint(i))})
	}
	if err := n.Linearize(context.Background()); err != nil {
		t.Fatalf("Linearize: %v", err)
	}
	rec, err := n.Get("default", "k", kv.At{})
	if err != nil || string(rec.Value) != "19" || rec.Rev != 19 {
		t.Fatalf("Get = %+v, %v", rec, err)
	}
	st, err := n.ClusterStatus(context.Background(), true)
	if err != nil || st.State != "leader" || len(st.Members) != 1 || !st.Members[0].Leader {
		t.Fatalf("ClusterStatus = %+v, %v", st, err)
	}
	closeNode(t, n)
	if err := n.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	n = openNode(t, dir, raftnode.Config{})
	defer closeNode(t, n)
	if n.ID() != id {
		t.Fatalf("node id %q after restart, want %q", n.ID(), id)
	}
	propose(t, n, kv.Put{Fork: "default", Key: "k", Value: []byte("after")})
	if err := n.Linearize(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec, _ = n.Get("default", "k", kv.At{})
	if string(rec.Value) != "after" || rec.Rev != 20 || n.Revision() != 21 {
		t.Fatalf("after restart: %+v, revision %d", rec, n.Revision())
	}
	if err := n.StateMachine().Check(); err != nil {
		t.Fatal(err)
	}
}

// With snapshots taken and the log compacted, a restart still recovers every write.
func TestNode_RestartAfterSnapshot(t *testing.T) {
	dir := t.TempDir()
	cfg := raftnode.Config{SnapshotThreshold: 10, TrailingLogs: 5, SnapshotInterval: 50 * time.Millisecond}
	n := openNode(t, dir, cfg)
	for i := 0; i < 200; i++ {
		propose(t, n, kv.Put{Fork: "default", Key: fmt.Sprint("k", i%7), Value: []byte(fmt.Sprint(i))})
	}
	closeNode(t, n)
	n = openNode(t, dir, cfg)
	defer closeNode(t, n)
	if n.Revision() != 200 {
		t.Fatalf("revision %d after restart, want 200", n.Revision())
	}
	rec, err := n.Get("default", "k3", kv.At{})
	if err != nil || string(rec.Value) != "199" {
		t.Fatalf("k3 = %+v, %v", rec, err)
	}
}

func TestNode_IDMismatch(t *testing.T) {
	dir := t.TempDir()
	n := openNode(t, dir, raftnode.Config{NodeID: "a"})
	closeNode(t, n)
	err := raftnode.New(raftnode.Config{DataDir: dir, NodeID: "b"}).Open()
	if err == nil {
		t.Fatal("Open with another node id succeeded")
	}
}

// A linearizable read does not wait for the state machine's group commit interval: it commits
// the open group at once and sees every acknowledged write.
func TestNode_LinearizeCommitsOpenGroup(t *testing.T) {
	cfg := raftnode.Config{}
	cfg.Store.CommitInterval = time.Hour
	n := openNode(t, t.TempDir(), cfg)
	defer closeNode(t, n)
	for i := 0; i < 5; i++ {
		res := propose(t, n, kv.Put{Fork: "default", Key: "k", Value: []byte(fmt.Sprint(i))})
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := n.Linearize(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Linearize: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Linearize took %v: it waited for the commit interval", d)
		}
		rec, err := n.Get("default", "k", kv.At{})
		if err != nil || string(rec.Value) != fmt.Sprint(i) || n.Revision() < res.Revision {
			t.Fatalf("after put %d (revision %d): Get = %+v, %v; store at revision %d", i, res.Revision, rec, err, n.Revision())
		}
	}
}
