package queue_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/etf"
	"github.com/mahou-go/mahou/bus/query"
	"github.com/mahou-go/mahou/bus/queue"
	"github.com/mahou-go/mahou/bus/queue/boltstore"
)

const waitFor = 5 * time.Second

// consumer is a fake connected client: it records what the broker delivers to it, and can
// refuse deliveries as a closed or slow connection does.
type consumer struct {
	key    bus.ClientKey
	got    chan delivered
	mu     sync.Mutex // guards refuse
	refuse bool
}

type delivered struct {
	queue, id string
	nonce     any
	payload   any
}

func (c *consumer) Deliver(d *bus.Delivery) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refuse {
		return false
	}
	p := d.Payload.(etf.Struct)
	c.got <- delivered{queue: p[0].Value.(string), payload: p[1].Value, id: p[2].Value.(string), nonce: d.Nonce}
	return true
}

func (c *consumer) setRefuse(v bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refuse = v
}

// next returns the next delivery, failing the test if none comes in time.
func (c *consumer) next(tb testing.TB) delivered {
	tb.Helper()
	select {
	case d := <-c.got:
		return d
	case <-time.After(waitFor):
		tb.Fatalf("%s: no delivery within %v", c.key.ID, waitFor)
	}
	return delivered{}
}

// none checks that nothing was delivered. Dispatch is synchronous: whatever a call makes
// deliverable is delivered before the call returns.
func (c *consumer) none(tb testing.TB) {
	tb.Helper()
	select {
	case d := <-c.got:
		tb.Fatalf("%s: got delivery %+v, want none", c.key.ID, d)
	default:
	}
}

// env is a broker over a bbolt file, with clients in an index.
type env struct {
	tb    testing.TB
	path  string
	cfg   queue.Config
	index *query.Index
	b     *queue.Broker
	store *boltstore.Store
}

func newEnv(tb testing.TB, mutate func(*queue.Config)) *env {
	tb.Helper()
	cfg := queue.DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	e := &env{tb: tb, path: filepath.Join(tb.TempDir(), "queues.db"), cfg: cfg, index: query.NewIndex()}
	e.open()
	tb.Cleanup(e.close)
	return e
}

func (e *env) open() {
	e.tb.Helper()
	e.store = boltstore.New(e.path)
	if err := e.store.Open(); err != nil {
		e.tb.Fatal(err)
	}
	b, err := queue.NewBroker(e.cfg, e.store, e.index, nil)
	if err != nil {
		e.tb.Fatal(err)
	}
	if err := b.Open(); err != nil {
		e.tb.Fatal(err)
	}
	e.b = b
}

// close closes the broker, then checks the file's invariants.
func (e *env) close() {
	if e.b == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := e.b.Close(ctx); err != nil {
		e.tb.Errorf("close broker: %v", err)
	}
	e.b = nil
	check := boltstore.New(e.path)
	if err := check.Open(); err != nil {
		e.tb.Errorf("reopen for check: %v", err)
		return
	}
	defer check.Close()
	if err := check.Check(); err != nil {
		e.tb.Errorf("store invariants: %v", err)
	}
}

// restart closes the broker and opens a new one on the same file, as a process restart does.
func (e *env) restart() {
	e.tb.Helper()
	e.close()
	e.open()
}

// connect registers a client with metadata in the index.
func (e *env) connect(app, id string, meta map[string]any) *consumer {
	e.tb.Helper()
	c := &consumer{key: bus.ClientKey{App: app, ID: id}, got: make(chan delivered, 1024)}
	if meta == nil {
		meta = map[string]any{}
	}
	cl := clientOf(c.key)
	cl.Metadata = meta
	if err := e.index.Add(cl, c); err != nil {
		e.tb.Fatal(err)
	}
	return c
}

// leave unregisters a client and tells the broker.
func (e *env) leave(c *consumer) {
	e.index.Remove(c.key, c)
	e.b.ClientLeft(c.key)
}

// enqueue enqueues and waits until the message is on disk.
func (e *env) enqueue(q string, target, payload any) string {
	e.tb.Helper()
	done := make(chan error, 1)
	id, err := e.b.Enqueue(q, target, nil, payload, func(err error) { done <- err })
	if err != nil {
		e.tb.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			e.tb.Fatal(err)
		}
	case <-time.After(waitFor):
		e.tb.Fatal("enqueue not confirmed")
	}
	return id
}

func (e *env) request(q string, c *consumer) {
	e.tb.Helper()
	if err := e.b.Request(q, c.key); err != nil {
		e.tb.Fatal(err)
	}
}

func (e *env) ack(q, id string) {
	e.tb.Helper()
	if err := e.b.Ack(q, id); err != nil {
		e.tb.Fatal(err)
	}
}

// sync waits until everything applied is on disk.
func (e *env) sync() {
	e.tb.Helper()
	done := make(chan error, 1)
	e.b.Sync(func(err error) { done <- err })
	if err := <-done; err != nil {
		e.tb.Fatal(err)
	}
}

func (e *env) stats(q string) bus.QueueStats {
	e.tb.Helper()
	s, err := e.b.QueueStats(q)
	if err != nil {
		e.tb.Fatal(err)
	}
	return s
}

// eventually polls cond until it holds or the deadline passes.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func app(name string) map[string]any { return map[string]any{"application": name} }

func keyOf(app, id string) bus.ClientKey { return bus.ClientKey{App: app, ID: id} }

func clientOf(k bus.ClientKey) *bus.Client {
	return &bus.Client{Key: k, Metadata: map[string]any{}, Types: map[string]bus.Type{}}
}
