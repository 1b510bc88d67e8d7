package main_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	singyeong "github.com/mahou-go/mahou/client/singyeong"
	"github.com/mahou-go/mahou/internal/testutil"
)

// ledger records what the clients of the crash test saw. Events are numbered in the order
// the test observed them.
type ledger struct {
	mu         sync.Mutex // guards everything below
	events     int
	sent       int
	confirmed  map[string]bool        // payload token → confirmed by QUEUE_CONFIRM
	delivered  map[string]int         // token → deliveries seen
	ids        map[string]string      // message id → token
	ackWritten map[string]int         // message id → event at which its ACK was known on disk
	violations []string               // deliveries after the ACK was on disk
	byRound    map[int]map[string]int // round → deliveries
}

func newLedger() *ledger {
	return &ledger{confirmed: map[string]bool{}, delivered: map[string]int{}, ids: map[string]string{},
		ackWritten: map[string]int{}, byRound: map[int]map[string]int{}}
}

func (l *ledger) delivery(round int, m singyeong.QueueMessage) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events++
	token, _ := m.Payload.(string)
	l.delivered[token]++
	l.ids[m.ID] = token
	if at, ok := l.ackWritten[m.ID]; ok {
		l.violations = append(l.violations, fmt.Sprintf("round %d: %s (%s) delivered at event %d, its ACK was on disk at event %d",
			round, m.ID, token, l.events, at))
	}
}

// acksWritten records that the ACKs of ids are on disk: a QUEUE sent after them on the same
// connection was confirmed.
func (l *ledger) acksWritten(ids []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events++
	for _, id := range ids {
		l.ackWritten[id] = l.events
	}
}

// TestFaultQueueCrash runs producers and consumers against a real singyeong serve, kills it
// with SIGKILL at a random moment, restarts it, for MAHOU_FAULT_ROUNDS rounds, then drains.
// It checks that every message confirmed by QUEUE_CONFIRM is delivered at least once, and that
// no message is delivered after its ACK was on disk (known from a later QUEUE on the same
// connection being confirmed).
func TestFaultQueueCrash(t *testing.T) {
	seed := testutil.FaultSeed(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	rounds := testutil.EnvInt("MAHOU_FAULT_ROUNDS", 3)
	producers, consumers := testutil.EnvInt("MAHOU_FAULT_PRODUCERS", 4), testutil.EnvInt("MAHOU_FAULT_CONSUMERS", 4)
	addr, dir := testutil.FreeAddr(t), t.TempDir()
	start := func() *testutil.Process {
		p := testutil.Start(t, binary, []string{"serve", "--addr", addr, "--data-dir", dir, "--log-level", "warn",
			"--queue-ack-timeout", "5m", "--queue-max-deliveries", "1000"})
		p.WaitHTTP("http://"+addr+"/healthz", 20*time.Second)
		return p
	}
	l := newLedger()
	for round := range rounds {
		proc := start()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := range producers {
			wg.Add(1)
			go func() { defer wg.Done(); produce(t, addr, round, i, l, stop) }()
		}
		for i := range consumers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				consume(t, addr, round, fmt.Sprintf("r%d-c%d", round, i), uint64(i)+seed, l, stop)
			}()
		}
		// Let the load run, then crash in the middle of it.
		time.Sleep(time.Duration(500+rng.IntN(1500)) * time.Millisecond)
		proc.Kill()
		close(stop)
		wg.Wait()
		l.mu.Lock()
		t.Logf("round %d: killed with SIGKILL; so far %d sent, %d confirmed, %d deliveries, %d ACKs on disk",
			round, l.sent, len(l.confirmed), l.deliveries(), len(l.ackWritten))
		l.mu.Unlock()
	}
	start()
	drain(t, addr, rounds, l)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range l.violations {
		t.Error("delivered after its ACK was on disk:", v)
	}
	duplicates := 0
	for token, n := range l.delivered {
		duplicates += n - 1
		_ = token
	}
	t.Logf("seed %d: %d rounds, %d kills; %d sent, %d confirmed, %d delivered (%d deliveries, %d duplicates), %d ACKs on disk, %d violations",
		seed, rounds, rounds, l.sent, len(l.confirmed), len(l.delivered), l.deliveries(), duplicates, len(l.ackWritten), len(l.violations))
	if len(l.confirmed) == 0 {
		t.Fatal("no message was confirmed: the load did not run")
	}
}

func (l *ledger) deliveries() int {
	n := 0
	for _, c := range l.delivered {
		n += c
	}
	return n
}

func dialFault(addr, app, id string) (*singyeong.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return singyeong.Dial(ctx, singyeong.Options{URL: "http://" + addr, AppID: app, ClientID: id, Buffer: 64})
}

// produce enqueues unique tokens until stopped or disconnected.
func produce(t *testing.T, addr string, round, i int, l *ledger, stop chan struct{}) {
	c, err := dialFault(addr, "producer", fmt.Sprintf("r%d-p%d", round, i))
	if err != nil {
		t.Errorf("producer: %v", err)
		return
	}
	defer c.Close()
	for seq := 0; ; seq++ {
		select {
		case <-stop:
			return
		default:
		}
		token := fmt.Sprintf("r%d-p%d-%d", round, i, seq)
		l.mu.Lock()
		l.sent++
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.Queue(ctx, "crash", map[string]any{"application": "consumer"}, token, nil)
		cancel()
		if err != nil {
			return // the server is gone: the outcome is unknown, nothing to check
		}
		l.mu.Lock()
		l.confirmed[token] = true
		l.mu.Unlock()
	}
}

// consume takes messages one at a time; it NACKs about one in ten and ACKs the others, and after
// each ACK sends a marker QUEUE whose confirmation proves the ACK is on disk.
func consume(t *testing.T, addr string, round int, id string, seed uint64, l *ledger, stop chan struct{}) {
	rng := rand.New(rand.NewPCG(seed, 3))
	c, err := dialFault(addr, "consumer", id)
	if err != nil {
		t.Errorf("consumer: %v", err)
		return
	}
	defer c.Close()
	ctx := context.Background()
	for {
		m, ok := nextMessage(c, "crash", stop)
		if !ok {
			return
		}
		l.delivery(round, m)
		if rng.IntN(10) == 0 {
			if c.Nack(ctx, "crash", m.ID, 0) != nil {
				return
			}
			continue
		}
		if c.Ack(ctx, "crash", m.ID) != nil {
			return
		}
		mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.Queue(mctx, "markers", map[string]any{"application": "nobody"}, "marker", nil)
		cancel()
		if err != nil {
			return
		}
		l.acksWritten([]string{m.ID})
	}
}

// drain runs consumers on the last server until every confirmed message was delivered.
func drain(t *testing.T, addr string, round int, l *ledger) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); consume(t, addr, round, fmt.Sprintf("drain-%d", i), uint64(i), l, stop) }()
	}
	defer func() { close(stop); wg.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		l.mu.Lock()
		var missing []string
		for token := range l.confirmed {
			if l.delivered[token] == 0 {
				missing = append(missing, token)
			}
		}
		l.mu.Unlock()
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d confirmed messages never delivered, e.g. %v", len(missing), missing[:min(5, len(missing))])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// nextMessage asks for one message of queue and waits for it, skipping other frames; false once
// the connection ends or stop closes.
func nextMessage(c *singyeong.Client, queue string, stop chan struct{}) (singyeong.QueueMessage, bool) {
	if c.QueueRequest(context.Background(), queue) != nil {
		return singyeong.QueueMessage{}, false
	}
	for {
		select {
		case f, ok := <-c.Frames():
			if !ok {
				return singyeong.QueueMessage{}, false
			}
			if m, isMsg := f.QueueMessage(); isMsg {
				return m, true
			}
		case <-stop:
			return singyeong.QueueMessage{}, false
		}
	}
}
