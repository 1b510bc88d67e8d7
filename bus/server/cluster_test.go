package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/internal/wstest"
	"github.com/mahou-go/mahou/bus/server"
	"github.com/mahou-go/mahou/bus/wire"
	"github.com/mahou-go/mahou/internal/testutil"
)

var clusterKey = []byte("0123456789abcdef0123456789abcdef")

// clusterConfig is a node of a test cluster: loopback ports, fast failure detection and
// elections, no load balancing unless mutate turns it on.
func clusterConfig(tb testing.TB, id string, join []string, mutate func(*server.Config)) server.Config {
	cfg := server.DefaultConfig()
	cfg.Gateway.Addr, cfg.Gateway.DataDir = "127.0.0.1:0", tb.TempDir()
	cfg.Cluster.NodeID, cfg.Cluster.BindAddr, cfg.Cluster.Join, cfg.Cluster.Key = id, "127.0.0.1:0", join, clusterKey
	cfg.Cluster.ProbeInterval, cfg.Cluster.GossipInterval, cfg.Cluster.BalanceInterval = 100*time.Millisecond, 20*time.Millisecond, 0
	cfg.Raft.HeartbeatTimeout, cfg.Raft.ElectionTimeout, cfg.Raft.OrphanGrace = 300*time.Millisecond, 300*time.Millisecond, time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	return cfg
}

func openNode(tb testing.TB, cfg server.Config) *server.Server {
	tb.Helper()
	s, err := server.New(cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			tb.Errorf("close %s: %v", s.Cluster().Self().Node, err)
		}
	})
	return s
}

// startCluster starts n nodes n1..nN, each joining n1, and waits until every node links to
// every other and the queue group has n voters and a leader.
func startCluster(tb testing.TB, n int, mutate func(*server.Config)) []*server.Server {
	tb.Helper()
	nodes, _ := startClusterConfigs(tb, n, mutate)
	return nodes
}

// startClusterConfigs is startCluster, also returning each node's config.
func startClusterConfigs(tb testing.TB, n int, mutate func(*server.Config)) ([]*server.Server, []server.Config) {
	tb.Helper()
	cfgs := []server.Config{clusterConfig(tb, "n1", nil, mutate)}
	nodes := []*server.Server{openNode(tb, cfgs[0])}
	join := []string{nodes[0].Cluster().ClusterAddr()}
	for i := 2; i <= n; i++ {
		cfgs = append(cfgs, clusterConfig(tb, fmt.Sprintf("n%d", i), join, mutate))
		nodes = append(nodes, openNode(tb, cfgs[i-1]))
	}
	waitCluster(tb, nodes, n)
	return nodes, cfgs
}

// waitCluster waits until every node of nodes sees size-1 synced peers, and the queue group
// has size voters and a leader every node knows.
func waitCluster(tb testing.TB, nodes []*server.Server, size int) {
	tb.Helper()
	testutil.Eventually(tb, 20*time.Second, "the cluster forms", func() bool {
		for _, s := range nodes {
			synced := 0
			for _, m := range s.Cluster().Members() {
				if m.Link == "synced" {
					synced++
				}
			}
			leader, _ := s.Raft().Leader()
			if synced != size-1 || s.Raft().Voters() != size || leader == "" {
				return false
			}
		}
		return leaderOf(nodes) != nil
	})
}

// leaderOf returns the node whose broker leads the queues, or nil.
func leaderOf(nodes []*server.Server) *server.Server {
	for _, s := range nodes {
		if _, self := s.Raft().Leader(); self && s.Broker().Leading() {
			return s
		}
	}
	return nil
}

// known waits until every node has the client app/id in its routing index.
func known(tb testing.TB, nodes []*server.Server, app, id string) {
	tb.Helper()
	testutil.Eventually(tb, 5*time.Second, fmt.Sprintf("every node knows %s/%s", app, id), func() bool {
		for _, s := range nodes {
			if _, ok := s.Gateway().Finder().Get(bus.ClientKey{App: app, ID: id}); !ok {
				return false
			}
		}
		return true
	})
}

// forgotten waits until no node of nodes has app/id in its routing index.
func forgotten(tb testing.TB, nodes []*server.Server, app, id string) {
	tb.Helper()
	testutil.Eventually(tb, 10*time.Second, fmt.Sprintf("every node forgets %s/%s", app, id), func() bool {
		for _, s := range nodes {
			if _, ok := s.Gateway().Finder().Get(bus.ClientKey{App: app, ID: id}); ok {
				return false
			}
		}
		return true
	})
}

func meta(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+2 < len(kv)+1; i += 3 {
		m[kv[i].(string)] = map[string]any{"type": kv[i+1], "value": kv[i+2]}
	}
	return m
}

func dispatch(c *wstest.Client, t string, d any) {
	c.Send(map[string]any{"op": 4, "t": t, "d": d})
}

// payloadOf reads the next frame of c and checks it is dispatch t; it returns its payload.
func payloadOf(tb testing.TB, c *wstest.Client, t string) any {
	tb.Helper()
	m := c.Expect(4)
	if m["t"] != t {
		tb.Fatalf("got %v, want dispatch %s", m, t)
	}
	return m["d"].(map[string]any)["payload"]
}

// poll returns the next frame of c if one is waiting.
func poll(c *wstest.Client) (map[string]any, bool) {
	select {
	case m, ok := <-c.Frames:
		return m, ok
	default:
		return nil, false
	}
}

func postJSON(tb testing.TB, url string, body any) (int, any) {
	tb.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		tb.Fatalf("POST %s: %d %s: %v", url, resp.StatusCode, raw, err)
	}
	return resp.StatusCode, out
}

// TestCluster_OneBus checks that three nodes act as one bus: whichever node a client is on,
// it is routed to, queried, announced and proxied to, and its id is taken everywhere.
func TestCluster_OneBus(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	w1 := wstest.Connect(t, nodes[1].Addr(), wire.ETF, "worker", "w1", map[string]any{"metadata": meta("load", "integer", 5)})
	w2 := wstest.Connect(t, nodes[2].Addr(), wire.Msgpack, "worker", "w2", map[string]any{"metadata": meta("load", "integer", 1)})
	known(t, nodes, "worker", "w1")
	known(t, nodes, "worker", "w2")
	sender := wstest.Connect(t, nodes[0].Addr(), wire.JSON, "api", "s1", nil)

	t.Run("SendAndBroadcast", func(t *testing.T) {
		dispatch(sender, "SEND", map[string]any{"target": map[string]any{"application": "worker", "selector": map[string]any{"$min": "load"}},
			"payload": "to-min", "nonce": "n1"})
		if p := payloadOf(t, w2, "SEND"); p != "to-min" {
			t.Errorf("selector $min: w2 got %v", p)
		}
		dispatch(sender, "BROADCAST", map[string]any{"target": map[string]any{"application": "worker"}, "payload": "all"})
		for _, w := range []*wstest.Client{w1, w2} {
			if p := payloadOf(t, w, "BROADCAST"); p != "all" {
				t.Errorf("broadcast: got %v", p)
			}
		}
		w1.ExpectSilence("w1")
		w2.ExpectSilence("w2")
	})

	t.Run("MetadataUpdateReachesEveryNode", func(t *testing.T) {
		dispatch(w2, "UPDATE_METADATA", meta("load", "integer", 100))
		testutil.Eventually(t, 5*time.Second, "n1 sees w2's new load", func() bool {
			tg, ok := nodes[0].Gateway().Finder().Get(bus.ClientKey{App: "worker", ID: "w2"})
			return ok && tg.Client.Metadata["load"] == int64(100)
		})
		dispatch(sender, "SEND", map[string]any{"target": map[string]any{"application": "worker", "selector": map[string]any{"$min": "load"}},
			"payload": "to-new-min"})
		if p := payloadOf(t, w1, "SEND"); p != "to-new-min" {
			t.Errorf("selector $min after w2's update: w1 got %v", p)
		}
		w2.ExpectSilence("w2")
	})

	t.Run("KeyHashingAgreesAcrossNodes", func(t *testing.T) {
		other := wstest.Connect(t, nodes[2].Addr(), wire.JSON, "api", "s3", nil)
		const each = 5
		for i := range each {
			for _, c := range []*wstest.Client{sender, other} {
				dispatch(c, "SEND", map[string]any{"target": map[string]any{"application": "worker", "key": "customer-42"}, "payload": i})
			}
		}
		got := map[string]int{}
		testutil.Eventually(t, 5*time.Second, "every keyed SEND arrives", func() bool {
			for id, w := range map[string]*wstest.Client{"w1": w1, "w2": w2} {
				for m, ok := poll(w); ok; m, ok = poll(w) {
					if m["t"] == "SEND" {
						got[id]++
					}
				}
			}
			return got["w1"]+got["w2"] == 2*each
		})
		if got["w1"] != 0 && got["w2"] != 0 {
			t.Errorf("keyed SENDs split between workers: %v, want all on one", got)
		}
	})

	t.Run("QueryNodesSeesEveryNode", func(t *testing.T) {
		dispatch(sender, "QUERY_NODES", map[string]any{"application": "worker"})
		m := sender.Expect(4)
		var ids []string
		for _, n := range m["d"].(map[string]any)["nodes"].([]any) {
			ids = append(ids, n.(map[string]any)["client_id"].(string))
		}
		sort.Strings(ids)
		if fmt.Sprint(ids) != "[w1 w2]" {
			t.Errorf("QUERY_NODES on n1: got %v, want [w1 w2]", ids)
		}
		status, out := postJSON(t, "http://"+nodes[1].Addr()+"/api/v1/query", map[string]any{"application": "worker"})
		if list, _ := out.([]any); status != http.StatusOK || len(list) != 2 {
			t.Errorf("POST /api/v1/query on n2: got %d %v, want both workers", status, out)
		}
	})

	t.Run("ClientUpdatesReachEveryNode", func(t *testing.T) {
		watcher := wstest.Connect(t, nodes[0].Addr(), wire.JSON, "watch", "w", map[string]any{"receive_client_updates": true})
		known(t, nodes, "watch", "w")
		x := wstest.Connect(t, nodes[2].Addr(), wire.JSON, "newcomer", "x", nil)
		next := func(event string) {
			t.Helper()
			for {
				m := watcher.Expect(4)
				if m["t"] == event && m["d"].(map[string]any)["payload"].(map[string]any)["app"] == "newcomer" {
					return
				}
			}
		}
		next("CLIENT_CONNECTED")
		x.WS.CloseNow()
		next("CLIENT_DISCONNECTED")
		forgotten(t, nodes, "newcomer", "x")
	})

	t.Run("DuplicateClientIDIsClusterWide", func(t *testing.T) {
		c := wstest.Dial(t, nodes[0].Addr(), wire.JSON)
		c.Expect(0)
		c.Send(map[string]any{"op": 1, "d": map[string]any{"client_id": "w1", "application_id": "worker"}})
		c.ExpectError(8, gateway.AlreadyRegistered(bus.ClientKey{App: "worker", ID: "w1"}))
	})

	t.Run("ProxyToAClientOfAnotherNode", func(t *testing.T) {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
		}))
		defer up.Close()
		wstest.Connect(t, nodes[2].Addr(), wire.JSON, "web", "web1", map[string]any{"ip": up.URL})
		known(t, nodes, "web", "web1")
		status, out := postJSON(t, "http://"+nodes[0].Addr()+"/api/v1/proxy",
			map[string]any{"method": "GET", "route": "/hello", "query": map[string]any{"application": "web"}})
		if m, _ := out.(map[string]any); status != http.StatusOK || m["path"] != "/hello" {
			t.Errorf("proxy via n1 to a client of n3: got %d %v", status, out)
		}
	})

	t.Run("ClusterStatus", func(t *testing.T) {
		resp, err := http.Get("http://" + nodes[1].Addr() + "/api/v1/cluster")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Node    string `json:"node"`
			Members []struct {
				ID, State, Link string
				Self            bool
			} `json:"members"`
			Queues struct {
				Leader  string `json:"leader"`
				Servers []any  `json:"servers"`
			} `json:"queues"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/v1/cluster: %d %v", resp.StatusCode, err)
		}
		if out.Node != "n2" || len(out.Members) != 3 || out.Queues.Leader == "" || len(out.Queues.Servers) != 3 {
			t.Fatalf("got %+v, want n2 seeing 3 members and a queue group of 3", out)
		}
		for _, m := range out.Members {
			if m.State != "alive" || (m.Self != (m.Link == "self")) || (!m.Self && m.Link != "synced") {
				t.Errorf("member %+v: want alive, linked", m)
			}
		}
	})
}

// TestCluster_QueuesSurviveTheLeader enqueues through one follower, stops the queue leader,
// and consumes every confirmed message through the other follower.
func TestCluster_QueuesSurviveTheLeader(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	leader := leaderOf(nodes)
	var followers []*server.Server
	for _, s := range nodes {
		if s != leader {
			followers = append(followers, s)
		}
	}
	producer := wstest.Connect(t, followers[0].Addr(), wire.JSON, "producer", "p", nil)
	consumer := wstest.Connect(t, followers[1].Addr(), wire.Msgpack, "worker", "c", nil)
	wstest.Connect(t, leader.Addr(), wire.JSON, "worker", "gone", nil)
	known(t, nodes, "worker", "c")
	known(t, nodes, "worker", "gone")
	enqueue := func(payload string) {
		t.Helper()
		dispatch(producer, "QUEUE", map[string]any{"queue": "jobs", "target": map[string]any{"application": "worker"}, "payload": payload})
		if m := producer.Expect(4); m["t"] != "QUEUE_CONFIRM" {
			t.Fatalf("QUEUE via a follower: got %v, want QUEUE_CONFIRM", m)
		}
	}
	take := func() (string, string) {
		t.Helper()
		dispatch(consumer, "QUEUE_REQUEST", map[string]any{"queue": "jobs"})
		m := consumer.Expect(4)
		p, _ := m["d"].(map[string]any)["payload"].(map[string]any)
		if m["t"] != "QUEUE" || p == nil {
			t.Fatalf("got %v, want a QUEUE delivery", m)
		}
		return p["payload"].(string), p["id"].(string)
	}
	ack := func(id string) { dispatch(consumer, "QUEUE_ACK", map[string]any{"queue": "jobs", "id": id}) }

	// Placed through one follower, delivered through the other while the leader lives.
	enqueue("before")
	if p, id := take(); p != "before" {
		t.Fatalf("got %q, want before", p)
	} else {
		ack(id)
	}
	const n = 20
	want := map[string]bool{}
	for i := range n {
		p := fmt.Sprintf("m%d", i)
		enqueue(p)
		want[p] = true
	}
	// The queue REST routes answer on a follower (passed to the leader).
	resp, err := http.Get("http://" + followers[1].Addr() + "/api/v1/queues/jobs")
	if err != nil {
		t.Fatal(err)
	}
	var stats map[string]any
	err = json.NewDecoder(resp.Body).Decode(&stats)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || stats["ready"] != float64(n) {
		t.Errorf("GET /api/v1/queues/jobs on a follower: %d %v %v, want %d ready", resp.StatusCode, stats, err, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := leader.Close(ctx); err != nil {
		t.Fatal(err)
	}
	forgotten(t, followers, "worker", "gone")
	testutil.Eventually(t, 20*time.Second, "a new queue leader", func() bool { return leaderOf(followers) != nil })
	for range n {
		p, id := take()
		if !want[p] {
			t.Fatalf("got %q twice or unknown", p)
		}
		delete(want, p)
		ack(id)
	}
	if len(want) != 0 {
		t.Errorf("never delivered: %v", want)
	}

	// The stopped node is gone for good: remove it from the queue group, through either node.
	for id, wantStatus := range map[string]int{"nobody": http.StatusNotFound, leader.Cluster().Self().Node: http.StatusOK} {
		req, _ := http.NewRequest(http.MethodDelete, "http://"+followers[0].Addr()+"/api/v1/cluster/members/"+id, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != wantStatus {
			t.Errorf("DELETE member %s: got %d %s, want %d", id, resp.StatusCode, body, wantStatus)
		}
	}
	testutil.Eventually(t, 5*time.Second, "a queue group of two", func() bool {
		return followers[0].Raft().Voters() == 2 && followers[1].Raft().Voters() == 2
	})
}

// TestCluster_Goodbye puts every client on one node and checks that it sends the excess op 7
// goodbye, and that the clients reconnecting elsewhere are routed to.
func TestCluster_Goodbye(t *testing.T) {
	nodes := startCluster(t, 3, func(c *server.Config) { c.Cluster.BalanceInterval = 200 * time.Millisecond })
	const total = 8
	clients := map[string]*wstest.Client{}
	for i := range total {
		id := fmt.Sprintf("c%d", i)
		clients[id] = wstest.Connect(t, nodes[0].Addr(), wire.JSON, "crowd", id, nil)
	}
	goodbyes, next := 0, 1
	testutil.Eventually(t, 20*time.Second, "the crowd spreads over the nodes", func() bool {
		for id, c := range clients {
			m, ok := poll(c)
			if !ok || m["op"] != int64(7) {
				continue
			}
			if r := m["d"].(map[string]any)["reason"]; r != "load balancing" {
				t.Fatalf("goodbye reason %v, want load balancing", r)
			}
			goodbyes++
			// As a client behind a load balancer: reconnect, to another node.
			clients[id] = wstest.Connect(t, nodes[next].Addr(), wire.JSON, "crowd", id, nil)
			next = next%2 + 1
		}
		if goodbyes < 3 || len(nodes[0].Gateway().LocalClients()) > 5 {
			return false
		}
		for _, n := range nodes { // every node, the sender's too, routes to all of them again
			if len(n.Gateway().Finder().Find(&bus.Query{AppFilter: bus.AppExact, Application: "crowd"})) != total {
				return false
			}
		}
		return true
	})
	sender := wstest.Connect(t, nodes[2].Addr(), wire.JSON, "api", "s", nil)
	known(t, nodes, "api", "s")
	dispatch(sender, "BROADCAST", map[string]any{"target": map[string]any{"application": "crowd"}, "payload": "hi"})
	for id, c := range clients {
		if p := payloadOf(t, c, "BROADCAST"); p != "hi" {
			t.Errorf("%s: got %v", id, p)
		}
	}
}

// TestCluster_FollowerCatchesUpFromASnapshot stops a follower, enqueues until the leader's log
// is compacted past it, restarts it on its data directory and addresses, and checks that its
// replica of the queues is the leader's (raft sends it a snapshot of the queue store).
func TestCluster_FollowerCatchesUpFromASnapshot(t *testing.T) {
	small := func(c *server.Config) {
		c.Raft.SnapshotThreshold, c.Raft.TrailingLogs, c.Raft.SnapshotInterval = 4, 1, 50*time.Millisecond
	}
	nodes, cfgs := startClusterConfigs(t, 3, small)
	leader := leaderOf(nodes)
	lag := 0
	for nodes[lag] == leader {
		lag++
	}
	restart := cfgs[lag]
	restart.Gateway.Addr, restart.Cluster.BindAddr = nodes[lag].Addr(), nodes[lag].Cluster().ClusterAddr()
	restart.Cluster.Join = []string{leader.Cluster().ClusterAddr()}
	applied := nodes[lag].Raft().Status()["applied_index"].(int64)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := nodes[lag].Close(ctx); err != nil {
		t.Fatal(err)
	}

	producer := wstest.Connect(t, leader.Addr(), wire.Msgpack, "producer", "p", nil)
	const n = 40
	for i := range n {
		dispatch(producer, "QUEUE", map[string]any{"queue": "jobs", "target": map[string]any{"application": "worker"}, "payload": i})
		if m := producer.Expect(4); m["t"] != "QUEUE_CONFIRM" {
			t.Fatalf("QUEUE %d: got %v", i, m)
		}
	}
	ready := func(s *server.Server) int {
		for _, st := range s.Broker().Stats() {
			if st.Name == "jobs" {
				return st.Ready
			}
		}
		return -1
	}
	testutil.Eventually(t, 10*time.Second, "the leader compacts its log past the stopped follower", func() bool {
		return leader.Raft().Status()["first_index"].(int64) > applied+1
	})

	back := openNode(t, restart)
	testutil.Eventually(t, 20*time.Second, "the restarted follower holds every message", func() bool { return ready(back) == n })
	// raft records the installed snapshot's index just after the store took it
	testutil.Eventually(t, 5*time.Second, "the restarted follower installed a snapshot past what it had applied", func() bool {
		got, _ := back.Raft().Status()["last_snapshot_index"].(int64)
		return got > applied
	})
}

// TestCluster_SameIDOnTwoNodesAtOnce identifies the same client id on two nodes at the same
// moment, before either node can know of the other's client: every node settles the conflict
// alike, one client keeps the id and the other is closed with op 8.
func TestCluster_SameIDOnTwoNodesAtOnce(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	for round := range 3 {
		app := fmt.Sprintf("race%d", round)
		a, b := wstest.Dial(t, nodes[0].Addr(), wire.JSON), wstest.Dial(t, nodes[1].Addr(), wire.JSON)
		a.Expect(0)
		b.Expect(0)
		identify := map[string]any{"op": 1, "d": map[string]any{"client_id": "same", "application_id": app}}
		a.Send(identify)
		b.Send(identify)
		// Each gets ready or op 8; a winner may also be told nothing more.
		outcome := func(c *wstest.Client) bool { // true: it keeps the id
			m := c.Next()
			if m["op"] == int64(8) {
				return false
			}
			if m["op"] != int64(2) {
				t.Fatalf("got %v, want ready or op 8", m)
			}
			return true
		}
		aReady, bReady := outcome(a), outcome(b)
		if !aReady && !bReady {
			t.Fatalf("round %d: both clients were refused", round)
		}
		t.Logf("round %d: both identified before either knew the other: %v", round, aReady && bReady)
		key := bus.ClientKey{App: app, ID: "same"}
		// The later of two ready clients is closed with op 8 by its own node.
		testutil.Eventually(t, 5*time.Second, "one client keeps the id", func() bool {
			for _, c := range []*wstest.Client{a, b} {
				if m, ok := poll(c); ok {
					if m["op"] != int64(8) {
						t.Fatalf("got %v, want op 8 or nothing", m)
					}
					if c == a {
						aReady = false
					} else {
						bReady = false
					}
				}
			}
			return aReady != bReady
		})
		winner, loserNode, winnerNode := a, nodes[1], nodes[0]
		if bReady {
			winner, loserNode, winnerNode = b, nodes[0], nodes[1]
		}
		testutil.Eventually(t, 5*time.Second, "every node routes the id to the winner's node", func() bool {
			for _, s := range nodes {
				tg, ok := s.Gateway().Finder().Get(key)
				if !ok || s == winnerNode && !s.Gateway().IsLocal(tg.Recipient) || s == loserNode && s.Gateway().IsLocal(tg.Recipient) {
					return false
				}
			}
			return true
		})
		sender := wstest.Connect(t, nodes[2].Addr(), wire.JSON, "api", fmt.Sprintf("s%d", round), nil)
		dispatch(sender, "SEND", map[string]any{"target": map[string]any{"application": app}, "payload": "for-the-winner"})
		if p := payloadOf(t, winner, "SEND"); p != "for-the-winner" {
			t.Errorf("round %d: the winner got %v", round, p)
		}
	}
}

// TestCluster_MajorityLossStopsQueuesNotRouting stops two nodes of three: the last one answers
// QUEUE with op 3 (no quorum, nothing confirmed) instead of hanging, and still routes SENDs
// between its own clients.
func TestCluster_MajorityLossStopsQueuesNotRouting(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	last := nodes[2]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range nodes[:2] {
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	producer := wstest.Connect(t, last.Addr(), wire.JSON, "producer", "p", nil)
	worker := wstest.Connect(t, last.Addr(), wire.JSON, "worker", "w", nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		leader, _ := last.Raft().Leader()
		if leader == "" || leader == last.Cluster().Self().Node && !last.Broker().Leading() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue group still has a leader: %v", last.Raft().Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	dispatch(producer, "QUEUE", map[string]any{"queue": "jobs", "target": map[string]any{"application": "worker"}, "payload": "x"})
	m := producer.Expect(3)
	if d, _ := m["d"].(map[string]any); d["error"] != "queue unavailable" {
		t.Errorf("QUEUE without a quorum: got %v, want op 3 queue unavailable", m)
	}
	dispatch(producer, "SEND", map[string]any{"target": map[string]any{"application": "worker"}, "payload": "still routed"})
	if p := payloadOf(t, worker, "SEND"); p != "still routed" {
		t.Errorf("SEND without a quorum: got %v", p)
	}
}

// TestCluster_CloseHandsOverTheQueueLeadership closes the queue leader of a cluster whose
// election timeout is 3 s: a follower leads well before an election could have made it.
func TestCluster_CloseHandsOverTheQueueLeadership(t *testing.T) {
	nodes := startCluster(t, 3, func(c *server.Config) { c.Raft.HeartbeatTimeout, c.Raft.ElectionTimeout = 3*time.Second, 3*time.Second })
	leader := leaderOf(nodes)
	var followers []*server.Server
	for _, s := range nodes {
		if s != leader {
			followers = append(followers, s)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := leader.Close(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 1500*time.Millisecond, "a follower leads without an election timeout", func() bool { return leaderOf(followers) != nil })
	t.Logf("a new queue leader %v after the old one started closing", time.Since(start).Round(time.Millisecond))
}
