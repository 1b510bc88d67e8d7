package faults_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mahou-go/mahou/internal/testutil"
)

// ackedWrite is a write the server acknowledged: the key must hold value at rev forever.
type ackedWrite struct {
	key   string
	rev   uint64
	value string
}

// putV2 writes a value and returns the acknowledged rev, or ok false if the outcome is unknown.
func putV2(client *http.Client, base, key, value string) (uint64, bool) {
	req, _ := http.NewRequest(http.MethodPut, base+"/v2/kv/"+key, bytes.NewReader([]byte(value)))
	resp, err := client.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var body struct {
		Rev uint64 `json:"rev"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
		return 0, false
	}
	return body.Rev, true
}

// readRev reads key at rev; ok is false when the key has no such rev.
func readRev(t *testing.T, base, key string, rev uint64) (string, bool) {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/v2/kv/%s?rev=%d", base, key, rev))
	if err != nil {
		t.Fatalf("read %s@%d: %v", key, rev, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNotFound {
		return "", false
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("read %s@%d: status %d %s", key, rev, resp.StatusCode, b)
	}
	var rec struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	v, _ := base64.StdEncoding.DecodeString(rec.Value)
	return string(v), true
}

// TestFaultCrashSingleNode kills a single node with SIGKILL during a concurrent write load,
// restarts it, and checks that every acknowledged write is there, at its rev, with the key's
// whole history intact. It repeats for MAHOU_FAULT_ROUNDS rounds.
func TestFaultCrashSingleNode(t *testing.T) {
	seed := testutil.FaultSeed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	rounds := testutil.EnvInt("MAHOU_FAULT_ROUNDS", 3)
	writers := testutil.EnvInt("MAHOU_FAULT_WRITERS", 16)
	c := testutil.StartCrush(t)
	var acked []ackedWrite
	attempted := map[string]map[string]bool{} // key -> values ever sent
	var mu sync.Mutex
	total := 0
	for round := 0; round < rounds; round++ {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		client := &http.Client{Timeout: 5 * time.Second}
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for seq := 0; ; seq++ {
					select {
					case <-stop:
						return
					default:
					}
					key := fmt.Sprintf("crash/w%d-%d", w, seq%3)
					value := fmt.Sprintf("round %d writer %d seq %d %s", round, w, seq, bytes.Repeat([]byte{'x'}, seq%200))
					mu.Lock()
					if attempted[key] == nil {
						attempted[key] = map[string]bool{}
					}
					attempted[key][value] = true
					mu.Unlock()
					rev, ok := putV2(client, c.URL(), key, value)
					if !ok {
						continue
					}
					mu.Lock()
					acked = append(acked, ackedWrite{key, rev, value})
					mu.Unlock()
				}
			}(w)
		}
		time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond) // let the load run, then crash mid-write
		c.Proc.Kill()
		close(stop)
		wg.Wait()
		c.Start()
		mu.Lock()
		total = len(acked)
		mu.Unlock()
		t.Logf("round %d: killed with SIGKILL after %d acknowledged writes in total", round, total)
	}
	checkAcked(t, c.URL(), acked, attempted)
	t.Logf("seed %d: %d rounds, %d kills, %d acknowledged writes checked, %d keys", seed, rounds, rounds, len(acked), len(attempted))
}

// checkAcked verifies every acknowledged write and that each key's history has no holes and
// holds only values that were sent.
func checkAcked(t *testing.T, base string, acked []ackedWrite, attempted map[string]map[string]bool) {
	t.Helper()
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged: the load did not run")
	}
	for _, w := range acked {
		got, ok := readRev(t, base, w.key, w.rev)
		if !ok || got != w.value {
			t.Fatalf("lost acknowledged write: %s@%d = %q (present %v), want %q", w.key, w.rev, got, ok, w.value)
		}
	}
	for key, values := range attempted {
		if attempted == nil {
			break
		}
		cur, exists := currentRev(t, base, key)
		for rev := uint64(0); exists && rev <= cur; rev++ {
			got, ok := readRev(t, base, key, rev)
			if !ok {
				t.Fatalf("%s: rev %d of %d is missing", key, rev, cur)
			}
			if !values[got] {
				t.Fatalf("%s@%d = %q, a value never written", key, rev, got)
			}
		}
	}
}

// currentRev returns a key's current rev, or false if it has none.
func currentRev(t *testing.T, base, key string) (uint64, bool) {
	t.Helper()
	resp, err := http.Get(base + "/v2/kv/" + key)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return 0, false
	}
	var rec struct {
		Rev uint64 `json:"rev"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&rec) != nil {
		t.Fatalf("read %s: status %d", key, resp.StatusCode)
	}
	return rec.Rev, true
}
