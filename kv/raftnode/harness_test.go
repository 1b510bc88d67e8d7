package raftnode_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/mahou-go/mahou/kv"
	"github.com/mahou-go/mahou/kv/kvhttp"
	"github.com/mahou-go/mahou/kv/raftnode"
)

// cluster is an in-process raft cluster on raft's in-memory transport. Each node also serves its
// API on a loopback HTTP server (followers forward to the leader over it); partitions cut both.
type cluster struct {
	t     testing.TB
	mu    sync.Mutex // guards nodes' transports and blocked
	nodes []*tnode
	// blocked holds unordered pairs of node ids that cannot talk.
	blocked map[[2]string]bool
	cfg     raftnode.Config
}

type tnode struct {
	c       *cluster
	id      string
	dir     string
	addr    raft.ServerAddress
	trans   *raft.InmemTransport
	node    *raftnode.Node
	handler http.Handler
	srv     *httptest.Server
	mu      sync.Mutex // guards handler
}

func fastConfig() raftnode.Config {
	return raftnode.Config{HeartbeatTimeout: 100 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond,
		LeaderLeaseTimeout: 50 * time.Millisecond}
}

// newCluster starts n voters bootstrapped together.
func newCluster(t testing.TB, n int, cfg raftnode.Config) *cluster {
	t.Helper()
	c := &cluster{t: t, blocked: map[[2]string]bool{}, cfg: cfg}
	var peers []raftnode.Peer
	for i := 1; i <= n; i++ {
		tn := c.newNode(fmt.Sprintf("n%d", i))
		peers = append(peers, raftnode.Peer{ID: tn.id, Addr: string(tn.addr)})
	}
	for _, tn := range c.nodes {
		tn.open(peers, nil)
	}
	t.Cleanup(c.close)
	c.leader()
	return c
}

func (c *cluster) newNode(id string) *tnode {
	tn := &tnode{c: c, id: id, dir: c.t.TempDir(), addr: raft.ServerAddress(id + ":7655")}
	tn.srv = httptest.NewServer(http.HandlerFunc(tn.serve))
	c.mu.Lock()
	c.nodes = append(c.nodes, tn)
	c.mu.Unlock()
	return tn
}

// serve routes a request to the node, unless the caller is cut off from it.
func (tn *tnode) serve(w http.ResponseWriter, r *http.Request) {
	from := r.Header.Get("X-Test-From")
	if from != "" && tn.c.isBlocked(from, tn.id) {
		http.Error(w, "partitioned", http.StatusBadGateway)
		return
	}
	tn.mu.Lock()
	h := tn.handler
	tn.mu.Unlock()
	if h == nil {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// open starts (or restarts) the node on a fresh in-memory transport.
func (tn *tnode) open(peers []raftnode.Peer, join []string) {
	c := tn.c
	_, trans := raft.NewInmemTransport(tn.addr)
	c.mu.Lock()
	tn.trans = trans
	c.mu.Unlock()
	c.rewire()
	cfg := c.cfg
	cfg.NodeID, cfg.DataDir, cfg.Transport, cfg.Peers, cfg.Join = tn.id, tn.dir, trans, peers, join
	cfg.APIAddr = tn.srv.URL
	cfg.HTTPClient = &http.Client{Transport: &taggedTransport{from: tn.id}, Timeout: 10 * time.Second}
	n := raftnode.New(cfg)
	if err := n.Open(); err != nil {
		c.t.Fatalf("open %s: %v", tn.id, err)
	}
	api, err := kvhttp.New(kvhttp.Config{Store: n, Cluster: n})
	if err != nil {
		c.t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v2/internal/", n.InternalHandler())
	mux.Handle("/", api)
	tn.mu.Lock()
	tn.node, tn.handler = n, mux
	tn.mu.Unlock()
}

// taggedTransport marks requests with the calling node, so partitions apply to HTTP too.
type taggedTransport struct{ from string }

func (t *taggedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Test-From", t.from)
	return http.DefaultTransport.RoundTrip(r)
}

// stop closes the node; its data directory stays for a restart.
func (tn *tnode) stop() {
	tn.mu.Lock()
	n := tn.node
	tn.handler = nil
	tn.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		tn.c.t.Logf("close %s: %v", tn.id, err)
	}
	tn.c.mu.Lock()
	tn.trans = nil
	tn.c.mu.Unlock()
	tn.c.rewire()
}

func (c *cluster) isBlocked(a, b string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.blocked[pair(a, b)]
}

func pair(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// rewire connects every pair of live transports that is not blocked.
func (c *cluster) rewire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.nodes {
		if a.trans == nil {
			continue
		}
		a.trans.DisconnectAll()
		for _, b := range c.nodes {
			if b != a && b.trans != nil && !c.blocked[pair(a.id, b.id)] {
				a.trans.Connect(b.addr, b.trans)
			}
		}
	}
}

// partition cuts the given nodes off from all the others.
func (c *cluster) partition(ids ...string) {
	c.mu.Lock()
	in := map[string]bool{}
	for _, id := range ids {
		in[id] = true
	}
	for _, a := range c.nodes {
		for _, b := range c.nodes {
			if a != b && in[a.id] != in[b.id] {
				c.blocked[pair(a.id, b.id)] = true
			}
		}
	}
	c.mu.Unlock()
	c.rewire()
}

func (c *cluster) heal() {
	c.mu.Lock()
	c.blocked = map[[2]string]bool{}
	c.mu.Unlock()
	c.rewire()
}

func (c *cluster) close() {
	for _, tn := range c.nodes {
		tn.mu.Lock()
		live := tn.handler != nil
		tn.mu.Unlock()
		if live {
			tn.stop()
		}
		tn.srv.Close()
	}
}

func (c *cluster) node(id string) *tnode {
	for _, tn := range c.nodes {
		if tn.id == id {
			return tn
		}
	}
	c.t.Fatalf("no node %s", id)
	return nil
}

// leader waits for a leader among the live nodes and returns it.
func (c *cluster) leader(exclude ...string) *tnode {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, tn := range c.nodes {
			if !tn.live() || contains(exclude, tn.id) {
				continue
			}
			if st, err := tn.node.ClusterStatus(context.Background(), false); err == nil && st.State == "leader" {
				return tn
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatal("no leader within 15s")
	return nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// put writes through a node and fails the test on error. A leader change while the cluster is
// loaded is retried (the write provably was not applied: raft refused it before replicating).
func (tn *tnode) put(key, val string) kv.Result {
	tn.c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		r, err := tn.node.Propose(ctx, kv.Put{Fork: "default", Key: key, Value: []byte(val)})
		if err == nil && r.Err == nil {
			return r
		}
		var nle *kv.NotLeaderError
		if !errors.As(err, &nle) || nle.LeaderAddr != "" || ctx.Err() != nil {
			tn.c.t.Fatalf("put %s via %s: %v %v", key, tn.id, err, r.Err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// get reads linearizably through a node.
func (tn *tnode) get(key string) (kv.Record, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := tn.node.Linearize(ctx); err != nil {
		return kv.Record{}, err
	}
	return tn.node.Get("default", key, kv.At{})
}

// dump is a replica's whole logical state: every key of every fork with all its revs.
func dump(t testing.TB, r kv.Reader) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	forks, err := r.Forks()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range forks {
		page, err := r.Keys(kv.KeysQuery{Fork: f.Name, Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range page.Keys {
			rec, err := r.Get(f.Name, k, kv.At{})
			if err != nil {
				t.Fatal(err)
			}
			vals, err := r.Values(f.Name, k, rec.OldestRev, rec.Rev)
			if err != nil {
				t.Fatal(err)
			}
			hist, _, err := r.History(f.Name, k, 0, 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			var revs []string
			for i, v := range vals {
				revs = append(revs, fmt.Sprintf("%d:%q", int(rec.OldestRev)+i, v))
			}
			for _, h := range hist {
				revs = append(revs, fmt.Sprintf("h%d@%d:%s:%d", h.Rev, h.Revision, h.Op, h.Size))
			}
			out[f.Name+"/"+k] = revs
		}
	}
	return out
}

// converge waits until every live node has applied the same revision, then compares their
// whole state and runs each one's invariant checker.
func (c *cluster) converge() {
	c.t.Helper()
	lead := c.leader()
	c.flushAll()
	want := lead.node.Revision()
	deadline := time.Now().Add(15 * time.Second)
	for _, tn := range c.nodes {
		if !tn.live() {
			continue
		}
		for tn.node.Revision() < want {
			if time.Now().After(deadline) {
				c.t.Fatalf("%s stuck at revision %d, leader at %d", tn.id, tn.node.Revision(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	c.flushAll()
	ref := dump(c.t, lead.node)
	for _, tn := range c.nodes {
		if !tn.live() {
			continue
		}
		if got := dump(c.t, tn.node); !reflect.DeepEqual(got, ref) {
			c.t.Fatalf("%s diverges from the leader %s: %s", tn.id, lead.id, firstDiff(got, ref))
		}
		if err := tn.node.StateMachine().Check(); err != nil {
			c.t.Fatalf("%s invariants: %v", tn.id, err)
		}
	}
}

// flushAll commits every node's pending group, so their stored state stops moving.
func (c *cluster) flushAll() {
	for _, tn := range c.nodes {
		if tn.live() {
			_ = tn.node.StateMachine().Flush()
		}
	}
}

// firstDiff names the first key whose history differs, briefly.
func firstDiff(got, want map[string][]string) string {
	for k, w := range want {
		if g := got[k]; !reflect.DeepEqual(g, w) {
			return fmt.Sprintf("key %s: got %d entries, want %d (first got %.200v, want %.200v)", k, len(g), len(w), g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			return "extra key " + k
		}
	}
	return "no difference on a second look"
}

func (tn *tnode) live() bool {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	return tn.handler != nil
}
