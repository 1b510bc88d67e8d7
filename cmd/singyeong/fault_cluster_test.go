package main_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	singyeong "github.com/mahou-go/mahou/client/singyeong"
	"github.com/mahou-go/mahou/internal/testutil"
)

// faultNode is one singyeong serve process of the cluster fault test.
type faultNode struct {
	id, addr, clusterAddr, dir string
	proc                       *testutil.Process
}

func (n *faultNode) url() string { return "http://" + n.addr }

// clusterStatus is the part of GET /api/v1/cluster the fault test reads.
type clusterStatus struct {
	Members []struct {
		ID, State, Link string
		APIAddr         string `json:"api_addr"`
		ClusterAddr     string `json:"cluster_addr"`
	} `json:"members"`
	Queues struct {
		Leader  string `json:"leader"`
		Servers []any  `json:"servers"`
	} `json:"queues"`
}

func readStatus(addr string) (clusterStatus, error) {
	var st clusterStatus
	resp, err := http.Get("http://" + addr + "/api/v1/cluster")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET /api/v1/cluster: %s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// formed reports whether n sees size members linked and a queue group of size with a leader.
func formed(n *faultNode, size int) bool {
	st, err := readStatus(n.addr)
	if err != nil || len(st.Members) != size || st.Queues.Leader == "" || len(st.Queues.Servers) != size {
		return false
	}
	for _, m := range st.Members {
		if m.State != "alive" || m.Link != "self" && m.Link != "synced" {
			return false
		}
	}
	return true
}

// faultKey is the cluster key of the fault test's nodes.
var faultKey = base64.StdEncoding.EncodeToString([]byte("fault-test-key-0123456789abcdef!"))

// start runs n (again, on its data directory), joining join unless it is empty.
func (n *faultNode) start(t *testing.T, join string) {
	args := []string{"serve", "--addr", n.addr, "--data-dir", n.dir, "--node-id", n.id, "--cluster-addr", n.clusterAddr,
		"--log-level", "warn", "--queue-ack-timeout", "5s", "--queue-max-deliveries", "1000", "--balance-interval", "0"}
	if join != "" {
		args = append(args, "--join", join)
	}
	n.proc = testutil.Start(t, binary, args, "SINGYEONG_CLUSTER_KEY="+faultKey)
	n.proc.WaitHTTP(n.url()+"/healthz", 20*time.Second)
}

func allFormed(nodes []*faultNode) bool {
	for _, n := range nodes {
		if !formed(n, len(nodes)) {
			return false
		}
	}
	return true
}

// startFaultCluster starts size real nodes, each joining the first, with a shared key.
func startFaultCluster(t *testing.T, size int) []*faultNode {
	var nodes []*faultNode
	for i := 1; i <= size; i++ {
		n := &faultNode{id: fmt.Sprintf("n%d", i), addr: testutil.FreeAddr(t), clusterAddr: testutil.FreeAddr(t), dir: t.TempDir()}
		join := ""
		if i > 1 {
			join = nodes[0].clusterAddr
		}
		n.start(t, join)
		nodes = append(nodes, n)
	}
	testutil.Eventually(t, 30*time.Second, "the cluster forms", func() bool { return allFormed(nodes) })
	return nodes
}

// clusterLedger records what the clients of the cluster fault test saw.
type clusterLedger struct {
	mu        sync.Mutex // guards everything below
	sent      int
	confirmed map[string]bool // token → QUEUE_CONFIRM seen
	delivered map[string]int  // token → deliveries seen
}

func (l *clusterLedger) missing() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for token := range l.confirmed {
		if l.delivered[token] == 0 {
			out = append(out, token)
		}
	}
	return out
}

func faultDial(t *testing.T, n *faultNode, app, id string) *singyeong.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := singyeong.Dial(ctx, singyeong.Options{URL: n.url(), AppID: app, ClientID: id, Buffer: 256})
	if err != nil {
		t.Fatalf("dial %s as %s/%s: %v", n.id, app, id, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// clusterProduce enqueues tokens through node n until stopped; a failed QUEUE (no leader for a
// moment, or n is dead) is not confirmed and is retried under a new token.
func clusterProduce(c *singyeong.Client, prefix string, l *clusterLedger, stop chan struct{}) {
	for seq := 0; ; seq++ {
		select {
		case <-stop:
			return
		default:
		}
		token := fmt.Sprintf("%s-%d", prefix, seq)
		l.mu.Lock()
		l.sent++
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.Queue(ctx, "jobs", map[string]any{"application": "worker"}, token, nil)
		cancel()
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		l.mu.Lock()
		l.confirmed[token] = true
		l.mu.Unlock()
	}
}

// clusterConsume takes and ACKs messages until stopped or its connection ends.
func clusterConsume(c *singyeong.Client, l *clusterLedger, stop chan struct{}) {
	ctx := context.Background()
	for {
		m, ok := nextMessage(c, "jobs", stop)
		if !ok {
			return
		}
		token, _ := m.Payload.(string)
		l.mu.Lock()
		l.delivered[token]++
		l.mu.Unlock()
		if c.Ack(ctx, "jobs", m.ID) != nil {
			return
		}
	}
}

// TestFaultClusterKill runs MAHOU_FAULT_ROUNDS rounds of: three real nodes, producers and
// consumers on each, SIGKILL of one node (the queue leader about half the time) while messages
// flow. It checks that every QUEUE_CONFIRMed message is delivered, that SENDs between the
// surviving nodes' clients keep working, and that the dead node's clients are no longer
// matched anywhere; then restarts the dead node on its data directory and checks that it
// rejoins (routing to its clients, queueing through it).
func TestFaultClusterKill(t *testing.T) {
	seed := testutil.FaultSeed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	rounds := testutil.EnvInt("MAHOU_FAULT_ROUNDS", 2)
	totals := map[string]int{}
	for round := range rounds {
		t.Run(fmt.Sprintf("round%d", round), func(t *testing.T) {
			counts := clusterKillRound(t, rng, round)
			for k, v := range counts {
				totals[k] += v
			}
		})
		if t.Failed() {
			break
		}
	}
	t.Logf("seed %d: %d rounds; totals %v", seed, rounds, totals)
}

func clusterKillRound(t *testing.T, rng *rand.Rand, round int) map[string]int {
	nodes := startFaultCluster(t, 3)
	st, err := readStatus(nodes[0].addr)
	if err != nil {
		t.Fatal(err)
	}
	victim := nodes[rng.IntN(len(nodes))]
	if rng.IntN(2) == 0 {
		for _, n := range nodes {
			if n.id == st.Queues.Leader {
				victim = n
			}
		}
	}
	l := &clusterLedger{confirmed: map[string]bool{}, delivered: map[string]int{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	receivers := map[string]*singyeong.Client{}
	for _, n := range nodes {
		p := faultDial(t, n, "producer", "p-"+n.id)
		c := faultDial(t, n, "worker", "c-"+n.id)
		receivers[n.id] = faultDial(t, n, "echo-"+n.id, "r-"+n.id)
		wg.Add(2)
		go func() { defer wg.Done(); clusterProduce(p, fmt.Sprintf("r%d-%s", round, n.id), l, stop) }()
		go func() { defer wg.Done(); clusterConsume(c, l, stop) }()
	}
	time.Sleep(time.Duration(500+rng.IntN(1500)) * time.Millisecond)
	victim.proc.Kill()
	killedAt := time.Now()
	var survivors []*faultNode
	for _, n := range nodes {
		if n != victim {
			survivors = append(survivors, n)
		}
	}

	// The dead node's clients are no longer matched on any survivor.
	var forgottenAfter time.Duration
	testutil.Eventually(t, 20*time.Second, "the survivors forget the dead node's clients", func() bool {
		for _, n := range survivors {
			for _, app := range []string{"worker", "echo-" + victim.id} {
				got, err := singyeong.Query(context.Background(), nil, n.url(), "", map[string]any{"application": app})
				if err != nil {
					return false
				}
				for _, c := range got {
					if c.ClientID == "c-"+victim.id || c.ClientID == "r-"+victim.id {
						return false
					}
				}
			}
		}
		forgottenAfter = time.Since(killedAt)
		return true
	})

	// SENDs between the survivors' clients keep working, both ways.
	const sends = 50
	for i, from := range survivors {
		to := survivors[1-i]
		sender := faultDial(t, from, "sender", fmt.Sprintf("s-%s-%d", from.id, round))
		for k := range sends {
			if err := sender.Send(context.Background(), map[string]any{"application": "echo-" + to.id}, k, nil); err != nil {
				t.Fatalf("SEND from %s to a client of %s: %v", from.id, to.id, err)
			}
		}
		got := 0
		deadline := time.After(10 * time.Second)
		for got < sends {
			select {
			case f := <-receivers[to.id].Frames():
				if f.T == "SEND" {
					got++
				}
			case <-deadline:
				t.Fatalf("SEND from %s to a client of %s: %d of %d arrived", from.id, to.id, got, sends)
			}
		}
	}

	// Let the load run on the survivors for a while, then stop producing and drain.
	time.Sleep(time.Duration(500+rng.IntN(1000)) * time.Millisecond)
	close(stop)
	wg.Wait()
	drainStop := make(chan struct{})
	for _, n := range survivors {
		c := faultDial(t, n, "worker", fmt.Sprintf("drain-%s-%d", n.id, round))
		wg.Add(1)
		go func() { defer wg.Done(); clusterConsume(c, l, drainStop) }()
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		missing := l.missing()
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			close(drainStop)
			wg.Wait()
			t.Fatalf("%d confirmed messages never delivered, e.g. %v", len(missing), missing[:min(5, len(missing))])
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(drainStop)
	wg.Wait()
	rejoinedAfter := restartVictim(t, victim, nodes, survivors, round)
	l.mu.Lock()
	defer l.mu.Unlock()
	deliveries := 0
	for _, n := range l.delivered {
		deliveries += n
	}
	t.Logf("round %d: killed %s (queue leader %s); %d sent, %d confirmed, %d deliveries (%d duplicates or unconfirmed); dead clients forgotten after %v; %d SENDs each way; restarted, linked and in the queue group again after %v",
		round, victim.id, st.Queues.Leader, l.sent, len(l.confirmed), deliveries, deliveries-len(l.confirmed), forgottenAfter.Round(time.Millisecond), sends,
		rejoinedAfter.Round(time.Millisecond))
	if len(l.confirmed) == 0 {
		t.Fatal("no message was confirmed: the load did not run")
	}
	killedLeader := 0
	if victim.id == st.Queues.Leader {
		killedLeader = 1
	}
	return map[string]int{"sent": l.sent, "confirmed": len(l.confirmed), "deliveries": deliveries, "killed_leader": killedLeader}
}

// restartVictim starts the killed node again on its data directory (on new addresses in odd
// rounds), joining a survivor, and checks that it rejoins: every node sees all linked with one queue leader, a client of the
// restarted node is routed to from a survivor, and a QUEUE through it reaches a consumer of a
// survivor. It returns how long the rejoin took.
func restartVictim(t *testing.T, victim *faultNode, nodes, survivors []*faultNode, round int) time.Duration {
	start := time.Now()
	if round%2 == 1 {
		// As a machine that comes back with a new address: the others must let the node's id
		// move (memberlist reclaims a dead name) and update its raft voter's address.
		victim.addr, victim.clusterAddr = testutil.FreeAddr(t), testutil.FreeAddr(t)
	}
	victim.start(t, survivors[0].clusterAddr)
	deadline := time.Now().Add(30 * time.Second)
	for !allFormed(nodes) {
		if time.Now().After(deadline) {
			for _, n := range nodes {
				st, err := readStatus(n.addr)
				t.Logf("%s sees %+v (%v)", n.id, st, err)
			}
			t.Fatalf("the restarted node did not rejoin within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	testutil.Eventually(t, 10*time.Second, "the queue group knows the restarted node's address", func() bool {
		st, err := readStatus(survivors[0].addr)
		if err != nil {
			return false
		}
		for _, s := range st.Queues.Servers {
			if m, _ := s.(map[string]any); m["id"] == victim.id {
				return m["addr"] == victim.addr
			}
		}
		return false
	})
	back := faultDial(t, victim, "echo-back", fmt.Sprintf("back-%d", round))
	sender := faultDial(t, survivors[0], "sender", fmt.Sprintf("s-back-%d", round))
	testutil.Eventually(t, 10*time.Second, "a survivor routes to a client of the restarted node", func() bool {
		got, err := singyeong.Query(context.Background(), nil, survivors[0].url(), "", map[string]any{"application": "echo-back"})
		return err == nil && len(got) == 1
	})
	if err := sender.Send(context.Background(), map[string]any{"application": "echo-back"}, "hello", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case f := <-back.Frames():
		if f.T != "SEND" {
			t.Fatalf("client of the restarted node: got %+v, want the SEND", f)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a SEND from a survivor never reached the client of the restarted node")
	}
	producer := faultDial(t, victim, "producer", fmt.Sprintf("p-back-%d", round))
	consumer := faultDial(t, survivors[1], "late-worker", fmt.Sprintf("c-back-%d", round))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := producer.Queue(ctx, "after", map[string]any{"application": "late-worker"}, "again", nil); err != nil {
		t.Fatalf("QUEUE through the restarted node: %v", err)
	}
	if err := consumer.QueueRequest(ctx, "after"); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case f := <-consumer.Frames():
			if m, ok := f.QueueMessage(); ok {
				if m.Payload != "again" {
					t.Fatalf("got %+v, want the message queued through the restarted node", m)
				}
				return took
			}
		case <-ctx.Done():
			t.Fatal("the message queued through the restarted node never arrived")
		}
	}
}
