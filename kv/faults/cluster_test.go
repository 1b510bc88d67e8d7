package faults_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/mahou-go/mahou/internal/testutil"
)

// cnode is one crush process of a fault-test cluster.
type cnode struct {
	id, ip                   string
	api, apiProxy            string
	raft, raftProxy, dataDir string
	proc                     *testutil.Process
	running                  bool
}

func (n *cnode) url() string { return "http://" + n.api }

type fcluster struct {
	t     *testing.T
	bin   string
	nodes []*cnode
	net   *faultNet
	peers string
}

func freeOn(t testing.TB, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatalf("listen on %s (loopback aliases must work): %v", ip, err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startCluster runs n nodes, each on its own loopback IP 127.0.0.(10+i), whose peers reach each
// other only through fault proxies.
func startCluster(t *testing.T, n int) *fcluster {
	c := &fcluster{t: t, bin: testutil.Binary(t, "./cmd/crush"), net: newFaultNet(t)}
	var peers []string
	for i := 1; i <= n; i++ {
		ip := fmt.Sprintf("127.0.0.%d", 10+i)
		nd := &cnode{id: fmt.Sprintf("n%d", i), ip: ip, api: freeOn(t, ip), apiProxy: freeOn(t, ip),
			raft: freeOn(t, ip), raftProxy: freeOn(t, ip), dataDir: t.TempDir()}
		c.net.proxy(nd.apiProxy, nd.api, ip)
		c.net.proxy(nd.raftProxy, nd.raft, ip)
		c.nodes = append(c.nodes, nd)
		peers = append(peers, nd.id+"="+nd.raftProxy)
	}
	c.peers = strings.Join(peers, ",")
	for _, nd := range c.nodes {
		c.start(nd)
	}
	for _, nd := range c.nodes {
		nd.proc.WaitHTTP(nd.url()+"/readyz", 30*time.Second)
	}
	return c
}

func (c *fcluster) start(nd *cnode) {
	args := []string{"serve", "--node-id", nd.id, "--addr", nd.api, "--advertise-addr", nd.apiProxy,
		"--raft-addr", nd.raft, "--advertise-raft-addr", nd.raftProxy, "--peers", c.peers,
		"--data-dir", nd.dataDir, "--peer-secret", "fault-test", "--log-level", "warn",
		"--heartbeat-timeout", "300ms", "--election-timeout", "300ms"}
	nd.proc = testutil.Start(c.t, c.bin, args)
	nd.running = true
}

func (c *fcluster) ips() []string {
	var out []string
	for _, nd := range c.nodes {
		out = append(out, nd.ip)
	}
	return out
}

// leader asks the running nodes who leads; "" when none answers.
func (c *fcluster) leader() *cnode {
	for _, nd := range c.nodes {
		if !nd.running {
			continue
		}
		var st struct {
			Raft struct {
				LeaderID string `json:"leader_id"`
				State    string `json:"state"`
			} `json:"raft"`
		}
		if getJSON(nd.url()+"/v2/status?members=false", &st) == nil && st.Raft.State == "leader" {
			return nd
		}
	}
	return nil
}

func getJSON(url string, out any) error {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// kvInput and kvOutput are the porcupine model's operations on one key.
type kvInput struct {
	put   bool
	key   string
	value string
}

type kvOutput struct {
	value string
}

// registerModel is a per-key register: a get returns the last put ("" before any).
var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(kvInput).key
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range byKey {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(kvInput)
		if in.put {
			return true, in.value
		}
		return output.(kvOutput).value == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(kvInput)
		if in.put {
			return fmt.Sprintf("put(%s, %q)", in.key, in.value)
		}
		return fmt.Sprintf("get(%s) -> %q", in.key, output.(kvOutput).value)
	},
}

// history records client operations for the checker.
type history struct {
	mu    sync.Mutex // guards ops, acked
	start time.Time
	ops   []porcupine.Operation
	acked []ackedWrite
}

func (h *history) now() int64 { return int64(time.Since(h.start)) }

func (h *history) add(op porcupine.Operation) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// client runs random puts and linearizable gets against one node until stop closes.
func (c *fcluster) client(id int, nd *cnode, h *history, seed uint64, stop <-chan struct{}, keys []string) {
	rng := rand.New(rand.NewPCG(seed, uint64(id)))
	hc := &http.Client{Timeout: 3 * time.Second}
	for seq := 0; ; seq++ {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(rng.IntN(10)) * time.Millisecond):
		}
		key := keys[rng.IntN(len(keys))]
		if rng.IntN(10) < 6 {
			value := fmt.Sprintf("c%d-%d", id, seq)
			call := h.now()
			rev, ok := putV2(hc, nd.url(), key, value)
			ret := h.now()
			if !ok {
				// unknown outcome: it may take effect at any later time
				ret = math.MaxInt64
			} else {
				h.mu.Lock()
				h.acked = append(h.acked, ackedWrite{key, rev, value})
				h.mu.Unlock()
			}
			h.add(porcupine.Operation{ClientId: id, Input: kvInput{put: true, key: key, value: value}, Call: call, Output: kvOutput{}, Return: ret})
			continue
		}
		call := h.now()
		value, ok := getV2(hc, nd.url(), key)
		if ok {
			h.add(porcupine.Operation{ClientId: id, Input: kvInput{key: key}, Call: call, Output: kvOutput{value: value}, Return: h.now()})
		}
	}
}

// getV2 reads a key linearizably; a missing key reads as "".
func getV2(hc *http.Client, base, key string) (string, bool) {
	resp, err := hc.Get(base + "/v2/kv/" + key)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNotFound && bytes.Contains(b, []byte(`"not_found"`)) {
		return "", true
	}
	if resp.StatusCode != http.StatusOK {
		return "", false
	}
	var rec struct {
		Value string `json:"value"`
	}
	if json.Unmarshal(b, &rec) != nil {
		return "", false
	}
	v, _ := base64.StdEncoding.DecodeString(rec.Value)
	return string(v), true
}

// TestFaultCluster runs clients on every node of a three-node cluster while the leader is
// killed with SIGKILL, nodes are partitioned (the leader, then a follower) and restarted. It
// then checks the recorded history for linearizability with porcupine, every acknowledged write,
// and that all replicas hold the same per-key histories.
func TestFaultCluster(t *testing.T) {
	seed := testutil.FaultSeed(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	rounds := testutil.EnvInt("MAHOU_FAULT_ROUNDS", 3)
	c := startCluster(t, 3)
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	h := &history{start: time.Now()}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	writers := testutil.EnvInt("MAHOU_FAULT_WRITERS", 6)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c.client(i, c.nodes[i%len(c.nodes)], h, seed, stop, keys)
		}(i)
	}
	var faults atomic.Int64
	for round := 0; round < rounds; round++ {
		time.Sleep(time.Duration(500+rng.IntN(500)) * time.Millisecond)
		c.injectFault(rng, round, &faults)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	c.net.heal()
	for _, nd := range c.nodes {
		if !nd.running {
			c.start(nd)
		}
		nd.proc.WaitHTTP(nd.url()+"/readyz", 30*time.Second)
	}
	c.checkReplicasEqual(keys)
	c.resolveUnknown(h, keys)
	c.checkLinearizable(h)
	checkAcked(t, c.nodes[0].url(), h.acked, nil)
	t.Logf("seed %d: %d operations (%d acknowledged writes checked), %d faults injected, %d keys",
		seed, len(h.ops), len(h.acked), faults.Load(), len(keys))
}

// injectFault applies one fault and undoes it, waiting for the cluster to have a leader again.
func (c *fcluster) injectFault(rng *rand.Rand, round int, faults *atomic.Int64) {
	lead := c.waitLeader()
	switch round % 3 {
	case 0:
		c.t.Logf("fault %d: SIGKILL the leader %s", round, lead.id)
		lead.proc.Kill()
		lead.running = false
		c.waitLeader()
		time.Sleep(time.Duration(200+rng.IntN(600)) * time.Millisecond)
		c.start(lead)
	case 1:
		c.t.Logf("fault %d: partition the leader %s from the others", round, lead.id)
		c.net.isolate(c.ips(), lead.ip)
		time.Sleep(time.Duration(800+rng.IntN(800)) * time.Millisecond)
		c.net.heal()
	case 2:
		var f *cnode
		for _, nd := range c.nodes {
			if nd != lead {
				f = nd
				break
			}
		}
		c.t.Logf("fault %d: partition follower %s, then restart it", round, f.id)
		c.net.isolate(c.ips(), f.ip)
		time.Sleep(time.Duration(500+rng.IntN(500)) * time.Millisecond)
		c.net.heal()
		_ = f.proc.Stop(10 * time.Second)
		c.start(f)
	}
	faults.Add(1)
}

func (c *fcluster) waitLeader() *cnode {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if l := c.leader(); l != nil {
			return l
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatal("no leader within 30s")
	return nil
}

func (c *fcluster) checkLinearizable(h *history) {
	c.t.Helper()
	res, info := porcupine.CheckOperationsVerbose(registerModel, h.ops, 2*time.Minute)
	switch res {
	case porcupine.Ok:
	case porcupine.Unknown:
		c.t.Fatalf("linearizability check timed out on %d operations", len(h.ops))
	default:
		path := c.t.TempDir() + "/history.html"
		if f, err := os.Create(path); err == nil {
			_ = porcupine.Visualize(registerModel, info, f)
			f.Close()
		}
		c.t.Fatalf("history of %d operations is not linearizable (visualization: %s)", len(h.ops), path)
	}
}

// resolveUnknown drops the puts whose outcome the client never learned and whose value is in no
// rev of the key's final history: they never took effect, so the checker need not consider every
// place they could have. Puts that did take effect stay, with an open end.
func (c *fcluster) resolveUnknown(h *history, keys []string) {
	applied := map[string]bool{}
	for _, key := range keys {
		for _, line := range keyHistory(c.t, c.nodes[0].url(), key) {
			fields := strings.Fields(line)
			if len(fields) == 3 {
				v, _ := base64.StdEncoding.DecodeString(fields[2])
				applied[key+"\x00"+string(v)] = true
			}
		}
	}
	kept := h.ops[:0]
	dropped := 0
	for _, op := range h.ops {
		in := op.Input.(kvInput)
		if in.put && op.Return == math.MaxInt64 && !applied[in.key+"\x00"+in.value] {
			dropped++
			continue
		}
		kept = append(kept, op)
	}
	h.ops = kept
	c.t.Logf("%d writes with an unknown outcome never took effect; %d operations to check", dropped, len(kept))
}

// keyHistory is a replica's view of one key: every rev with its revision, op and value.
func keyHistory(t *testing.T, base, key string) []string {
	var hist struct {
		History []struct {
			Rev      uint64 `json:"rev"`
			Revision int64  `json:"revision"`
			Op       string `json:"op"`
		} `json:"history"`
	}
	if err := getJSON(base+"/v2/history/"+key+"?consistency=serializable&limit=0", &hist); err != nil {
		return []string{"error: " + err.Error()}
	}
	var out []string
	for _, e := range hist.History {
		var rec struct {
			Value string `json:"value"`
		}
		_ = getJSON(fmt.Sprintf("%s/v2/kv/%s?rev=%d&consistency=serializable", base, key, e.Rev), &rec)
		out = append(out, fmt.Sprintf("%d@%d %s %s", e.Rev, e.Revision, e.Op, rec.Value))
	}
	sort.Strings(out)
	return out
}

// checkReplicasEqual waits for every replica to reach the leader's revision and compares the
// per-key histories.
func (c *fcluster) checkReplicasEqual(keys []string) {
	c.t.Helper()
	lead := c.waitLeader()
	var st struct {
		Revision int64 `json:"revision"`
	}
	if err := getJSON(lead.url()+"/v2/status?members=false", &st); err != nil {
		c.t.Fatal(err)
	}
	for _, nd := range c.nodes {
		testutil.Eventually(c.t, 30*time.Second, nd.id+" to catch up", func() bool {
			var s struct {
				Revision int64 `json:"revision"`
			}
			return getJSON(nd.url()+"/v2/status?members=false", &s) == nil && s.Revision >= st.Revision
		})
	}
	for _, key := range keys {
		ref := keyHistory(c.t, lead.url(), key)
		for _, nd := range c.nodes {
			if got := keyHistory(c.t, nd.url(), key); !reflect.DeepEqual(got, ref) {
				c.t.Fatalf("key %s: replica %s history differs from the leader %s:\n got %v\nwant %v", key, nd.id, lead.id, got, ref)
			}
		}
	}
}
