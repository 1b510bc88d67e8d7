package raftnode_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mahou-go/mahou/kv"
)

func TestCluster_ReplicatesAndForwards(t *testing.T) {
	c := newCluster(t, 3, fastConfig())
	lead := c.leader()
	for i, tn := range c.nodes {
		tn.put(fmt.Sprint("k", i), fmt.Sprint("via ", tn.id))
	}
	for _, tn := range c.nodes {
		for i := range c.nodes {
			rec, err := tn.get(fmt.Sprint("k", i))
			if err != nil || string(rec.Value) != fmt.Sprint("via n", i+1) {
				t.Fatalf("%s reads k%d = %q, %v", tn.id, i, rec.Value, err)
			}
		}
	}
	// a domain error travels back through a forward unchanged
	var follower *tnode
	for _, tn := range c.nodes {
		if tn != lead {
			follower = tn
		}
	}
	r, err := follower.node.Propose(context.Background(), kv.Put{Fork: "default", Key: "k0", Value: []byte("x"),
		If: kv.Precondition{MustNotExist: true}})
	var pe *kv.PreconditionError
	if err != nil || !errors.As(r.Err, &pe) || !pe.Exists {
		t.Fatalf("forwarded CAS: %v, %v", err, r.Err)
	}
	st, err := follower.node.ClusterStatus(context.Background(), true)
	if err != nil || len(st.Members) != 3 || st.LeaderID == "" {
		t.Fatalf("status %+v, %v", st, err)
	}
	for _, m := range st.Members {
		if !m.Voter || !m.Reachable || m.APIAddr == "" {
			t.Fatalf("member %+v", m)
		}
	}
	c.converge()
}

// The leader is cut off: the majority elects a new one and keeps serving, the old leader serves
// nothing stale, and after healing every replica holds the same history.
func TestCluster_LeaderPartition(t *testing.T) {
	c := newCluster(t, 3, fastConfig())
	old := c.leader()
	old.put("before", "1")
	c.partition(old.id)
	lead := c.leader(old.id)
	lead.put("during", "2")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := old.node.Linearize(ctx); err == nil {
		t.Fatal("the partitioned old leader served a linearizable read")
	}
	if _, err := old.node.Propose(ctx, kv.Put{Fork: "default", Key: "lost", Value: []byte("x")}); err == nil {
		t.Fatal("the partitioned old leader acknowledged a write")
	}
	c.heal()
	rec, err := old.get("during")
	if err != nil || string(rec.Value) != "2" {
		t.Fatalf("old leader after healing reads %q, %v", rec.Value, err)
	}
	c.converge()
}

// A follower that was down while the log was compacted catches up from a snapshot.
func TestCluster_CatchUpFromSnapshot(t *testing.T) {
	cfg := fastConfig()
	cfg.SnapshotThreshold, cfg.TrailingLogs, cfg.SnapshotInterval = 20, 5, 50*time.Millisecond
	c := newCluster(t, 3, cfg)
	lead := c.leader()
	var down *tnode
	for _, tn := range c.nodes {
		if tn != lead {
			down = tn
			break
		}
	}
	down.stop()
	for i := 0; i < 300; i++ {
		lead.put(fmt.Sprint("key-", i%17), fmt.Sprint("value ", i))
	}
	// let the leader snapshot and drop the log the follower would need
	time.Sleep(300 * time.Millisecond)
	down.open(nil, nil)
	c.converge()
	if got := down.node.Revision(); got < 300 {
		t.Fatalf("restarted follower at revision %d", got)
	}
}

// Members are added and removed while clients write; no acknowledged write is lost.
func TestCluster_MembershipUnderLoad(t *testing.T) {
	c := newCluster(t, 3, fastConfig())
	var acked sync.Map
	var n atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key, val := fmt.Sprintf("w%d-%d", w, i%5), fmt.Sprintf("%d-%d", w, i)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				lead := c.leader()
				r, err := lead.node.Propose(ctx, kv.Put{Fork: "default", Key: key, Value: []byte(val)})
				cancel()
				if err == nil && r.Err == nil {
					acked.Store(fmt.Sprint(key, "@", r.Rev), val)
					n.Add(1)
				}
			}
		}(w)
	}
	n4 := c.newNode("n4")
	n4.open(nil, []string{c.leader().srv.URL})
	waitFor(t, 15*time.Second, "n4 to become a voter", func() bool {
		st, err := c.leader().node.ClusterStatus(context.Background(), false)
		if err != nil {
			return false
		}
		for _, m := range st.Members {
			if m.ID == "n4" {
				return m.Voter
			}
		}
		return false
	})
	victim := c.node("n1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.leader().node.RemoveMember(ctx, victim.id); err != nil {
		t.Fatalf("remove n1: %v", err)
	}
	waitFor(t, 10*time.Second, "n1 to refuse writes", func() bool {
		_, err := victim.node.Propose(context.Background(), kv.Put{Fork: "default", Key: "x", Value: []byte("x")})
		return errors.Is(err, kv.ErrNotMember)
	})
	victim.stop()
	close(stop)
	wg.Wait()
	if n.Load() == 0 {
		t.Fatal("no write was acknowledged during the membership changes")
	}
	c.converge()
	lead := c.leader()
	acked.Range(func(k, v any) bool {
		var key string
		var rev uint64
		fmt.Sscanf(k.(string), "%s", &key)
		at := len(key) - 1
		for key[at] != '@' {
			at--
		}
		fmt.Sscan(key[at+1:], &rev)
		rec, err := lead.node.Get("default", key[:at], kv.AtRev(rev))
		if err != nil || string(rec.Value) != v.(string) {
			t.Fatalf("lost acknowledged write %s = %q: got %q, %v", k, v, rec.Value, err)
		}
		return true
	})
	t.Logf("%d acknowledged writes checked across adding n4 and removing n1", n.Load())
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
