package queue_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/queue"
)

func TestBroker_NoWaitingConsumerKeepsMessage(t *testing.T) {
	e := newEnv(t, nil)
	other := e.connect("other", "o1", nil)
	e.request("jobs", other)
	id := e.enqueue("jobs", app("worker"), "job 1")
	other.none(t) // its target is the worker application
	if s := e.stats("jobs"); s.Ready != 1 || s.Waiting != 1 || s.Dead != 0 {
		t.Fatalf("got %+v, want 1 ready, 1 waiting, none dead (the original lost it or dead-lettered it)", s)
	}
	w := e.connect("worker", "w1", nil)
	e.request("jobs", w)
	if d := w.next(t); d.id != id || d.payload != "job 1" || d.queue != "jobs" {
		t.Errorf("got %+v, want message %s", d, id)
	}
}

func TestBroker_BacklogDrainsOnceConsumersArrive(t *testing.T) {
	e := newEnv(t, nil)
	const n = 200
	sent := map[string]bool{}
	for i := range n {
		sent[e.enqueue("backlog", app("worker"), int64(i))] = true
	}
	workers := []*consumer{e.connect("worker", "a", nil), e.connect("worker", "b", nil), e.connect("worker", "c", nil)}
	got := map[string]int{}
	for _, w := range workers {
		e.request("backlog", w)
	}
	for len(got) < n {
		for _, w := range workers {
			select {
			case d := <-w.got:
				got[d.id]++
				e.ack("backlog", d.id)
				e.request("backlog", w)
			default:
			}
		}
		if len(got) < n && e.stats("backlog").Ready == 0 && e.stats("backlog").InFlight == 0 {
			break
		}
	}
	for id := range sent {
		if got[id] != 1 {
			t.Errorf("message %s delivered %d times, want 1", id, got[id])
		}
	}
	e.sync()
	if s := e.stats("backlog"); s.Depth() != 0 || s.InFlight != 0 {
		t.Errorf("after draining: %+v, want empty", s)
	}
}

func TestBroker_FIFOAcrossTargets(t *testing.T) {
	e := newEnv(t, nil)
	w := e.connect("worker", "w1", map[string]any{"region": "eu"})
	targets := []any{app("worker"), nil, map[string]any{"application": "worker",
		"ops": []any{map[string]any{"path": "/region", "op": "$eq", "to": map[string]any{"value": "eu"}}}}}
	var want []string
	for i := range 30 {
		want = append(want, e.enqueue("fifo", targets[i%len(targets)], int64(i)))
	}
	var got []string
	for range want {
		e.request("fifo", w)
		d := w.next(t)
		got = append(got, d.id)
		e.ack("fifo", d.id)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("delivery order differs from enqueue order:\n got %v\nwant %v", got, want)
	}
}

func TestBroker_UndeliverableHeadDoesNotBlock(t *testing.T) {
	e := newEnv(t, nil)
	blocked := e.enqueue("mixed", app("nobody"), "stuck")
	var flowing []string
	for i := range 5 {
		flowing = append(flowing, e.enqueue("mixed", app("worker"), int64(i)))
	}
	w := e.connect("worker", "w1", nil)
	for _, id := range flowing {
		e.request("mixed", w)
		if d := w.next(t); d.id != id {
			t.Fatalf("got %s, want %s", d.id, id)
		}
		e.ack("mixed", id)
	}
	if s := e.stats("mixed"); s.Ready != 1 {
		t.Errorf("got %+v, want the unroutable message still ready", s)
	}
	late := e.connect("nobody", "n1", nil)
	e.request("mixed", late)
	if d := late.next(t); d.id != blocked {
		t.Errorf("got %s, want %s", d.id, blocked)
	}
}

func TestBroker_OneMessagePerRequest(t *testing.T) {
	e := newEnv(t, nil)
	w := e.connect("worker", "w1", nil)
	e.request("q", w)
	e.request("q", w) // waiting already: still one message
	e.enqueue("q", nil, 1)
	e.enqueue("q", nil, 2)
	w.next(t)
	w.none(t)
	if s := e.stats("q"); s.Ready != 1 || s.InFlight != 1 || s.Waiting != 0 {
		t.Errorf("got %+v", s)
	}
	e.b.Cancel("q", w.key)
	e.request("q", w)
	e.b.Cancel("q", w.key)
	w.next(t) // the request delivered at once; the cancel came after
}

func TestBroker_CancelStopsWaiting(t *testing.T) {
	e := newEnv(t, nil)
	w := e.connect("worker", "w1", nil)
	e.request("q", w)
	e.b.Cancel("q", w.key)
	e.enqueue("q", nil, 1)
	w.none(t)
	if s := e.stats("q"); s.Waiting != 0 || s.Ready != 1 {
		t.Errorf("got %+v", s)
	}
}

func TestBroker_UnackedComesBackAfterTimeout(t *testing.T) {
	e := newEnv(t, func(c *queue.Config) { c.AckTimeout = 150 * time.Millisecond })
	w := e.connect("worker", "w1", nil)
	id := e.enqueue("q", nil, "x")
	start := time.Now()
	e.request("q", w)
	first := w.next(t)
	e.request("q", w) // ready for the redelivery
	second := w.next(t)
	if second.id != id || first.id != id {
		t.Fatalf("got %s then %s, want %s twice", first.id, second.id, id)
	}
	if waited := time.Since(start); waited < 148*time.Millisecond { // ms stamps truncate
		t.Errorf("redelivered after %v, before the ack timeout", waited)
	}
	e.ack("q", id)
	e.sync()
	if s := e.stats("q"); s.InFlight != 0 || s.Depth() != 0 {
		t.Errorf("got %+v, want empty", s)
	}
}

func TestBroker_PoisonMessageIsDeadLettered(t *testing.T) {
	e := newEnv(t, func(c *queue.Config) { c.MaxDeliveries = 3 })
	w := e.connect("worker", "w1", nil)
	poison := e.enqueue("q", nil, "poison")
	for i := range 3 {
		e.request("q", w)
		d := w.next(t)
		if d.id != poison {
			t.Fatalf("delivery %d: got %s", i, d.id)
		}
		if err := e.b.Nack("q", d.id, w.key, 0); err != nil {
			t.Fatal(err)
		}
	}
	e.request("q", w)
	w.none(t)
	s := e.stats("q")
	if s.Dead != 1 || s.Depth() != 0 {
		t.Fatalf("got %+v, want the message dead after 3 deliveries", s)
	}
	dead, next, err := e.b.DeadLetters("q", 0, 10)
	if err != nil || len(dead) != 1 || next != 0 {
		t.Fatalf("got %v %d %v", dead, next, err)
	}
	if d := dead[0]; d.ID != poison || d.Deliveries != 3 || d.Reason != "max_deliveries" || d.Payload != "poison" || d.DeadAt == 0 {
		t.Errorf("got %+v", d)
	}
	n, err := e.b.RequeueDead(t.Context(), "q", nil)
	if err != nil || n != 1 {
		t.Fatalf("requeue: %d %v", n, err)
	}
	if d := w.next(t); d.id != poison { // w was waiting
		t.Fatalf("got %s", d.id)
	}
	msgs, _, _ := e.b.DeadLetters("q", 0, 10)
	if len(msgs) != 0 {
		t.Errorf("dead letters after requeue: %v", msgs)
	}
}

func TestBroker_DeadLettersAfterTimeouts(t *testing.T) {
	e := newEnv(t, func(c *queue.Config) { c.MaxDeliveries = 2; c.AckTimeout = 50 * time.Millisecond })
	w := e.connect("worker", "w1", nil)
	id := e.enqueue("q", nil, "slow")
	e.request("q", w)
	w.next(t)
	e.request("q", w)
	w.next(t)
	eventually(t, "the message dead-lettered", func() bool { return e.stats("q").Dead == 1 })
	// A late ACK still counts: the consumer did the work.
	e.ack("q", id)
	if s := e.stats("q"); s.Dead != 0 {
		t.Errorf("got %+v, want the ACK to delete the dead letter", s)
	}
}

func TestBroker_Nack(t *testing.T) {
	e := newEnv(t, func(c *queue.Config) { c.MaxNackDelay = time.Minute })
	a := e.connect("worker", "a", nil)
	b := e.connect("worker", "b", nil)
	id := e.enqueue("q", nil, "x")
	e.request("q", a)
	a.next(t)
	e.request("q", b)
	if err := e.b.Nack("q", id, b.key, 0); err != nil { // not in flight to b: ignored
		t.Fatal(err)
	}
	b.none(t)
	if err := e.b.Nack("q", id, a.key, 0); err != nil {
		t.Fatal(err)
	}
	if d := b.next(t); d.id != id {
		t.Fatalf("got %s", d.id)
	}
	start := time.Now()
	if err := e.b.Nack("q", id, b.key, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	e.request("q", a)
	a.none(t)
	if s := e.stats("q"); s.Delayed != 1 {
		t.Fatalf("got %+v, want the message delayed", s)
	}
	// Times are stamped in whole milliseconds: allow for the truncation.
	if d := a.next(t); d.id != id || time.Since(start) < 198*time.Millisecond {
		t.Errorf("got %s after %v, want %s after the 200ms delay", d.id, time.Since(start), id)
	}
	for _, bad := range []time.Duration{-time.Millisecond, 2 * time.Minute} {
		if err := e.b.Nack("q", id, a.key, bad); !errors.Is(err, bus.ErrInvalidQueue) {
			t.Errorf("delay %v: got %v, want ErrInvalidQueue", bad, err)
		}
	}
}

func TestBroker_ConsumerLeavingReturnsItsMessages(t *testing.T) {
	e := newEnv(t, nil)
	a := e.connect("worker", "a", nil)
	id := e.enqueue("q", nil, "x")
	e.request("q", a)
	a.next(t)
	b := e.connect("worker", "b", nil)
	e.request("q", b)
	b.none(t)
	e.leave(a)
	if d := b.next(t); d.id != id {
		t.Fatalf("got %s", d.id)
	}
	msgs := e.stats("q")
	if msgs.InFlight != 1 {
		t.Errorf("got %+v", msgs)
	}
}

func TestBroker_MetadataChangeOfWaitingConsumer(t *testing.T) {
	e := newEnv(t, nil)
	w := e.connect("worker", "w1", map[string]any{"ready": false})
	target := map[string]any{"ops": []any{map[string]any{"path": "/ready", "op": "$eq", "to": map[string]any{"value": true}}}}
	id := e.enqueue("q", target, "x")
	e.request("q", w)
	w.none(t)
	if _, err := e.index.Update(w.key, func(c *bus.Client) *bus.Client {
		return c.With(map[string]any{"ready": true}, c.Types)
	}); err != nil {
		t.Fatal(err)
	}
	e.b.ClientChanged(w.key)
	if d := w.next(t); d.id != id {
		t.Fatalf("got %s", d.id)
	}
}

func TestBroker_SelectorPicksAmongWaiting(t *testing.T) {
	e := newEnv(t, nil)
	busy := e.connect("worker", "busy", map[string]any{"load": int64(1)})
	high := e.connect("worker", "high", map[string]any{"load": int64(9)})
	low := e.connect("worker", "low", map[string]any{"load": int64(3)})
	e.request("q", high)
	e.request("q", low)
	_ = busy // the least loaded, but not waiting
	e.enqueue("q", map[string]any{"application": "worker", "selector": map[string]any{"$min": "load"}}, "x")
	low.next(t)
	high.none(t)
}

func TestBroker_RefusingConsumerLeavesMessageReady(t *testing.T) {
	e := newEnv(t, nil)
	slow := e.connect("worker", "slow", nil)
	slow.setRefuse(true)
	e.request("q", slow)
	e.enqueue("q", nil, "x")
	if s := e.stats("q"); s.Ready != 1 || s.Waiting != 0 {
		t.Fatalf("got %+v, want the message ready and the refusing consumer no longer waiting", s)
	}
	ok := e.connect("worker", "ok", nil)
	e.request("q", ok)
	ok.next(t)
}

func TestBroker_Restart(t *testing.T) {
	e := newEnv(t, func(c *queue.Config) { c.MaxNackDelay = time.Minute })
	w := e.connect("worker", "w1", nil)
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = e.enqueue("q", app("worker"), int64(i))
	}
	e.request("q", w)
	if d := w.next(t); d.id != ids[0] {
		t.Fatal(d)
	}
	e.ack("q", ids[0])
	e.request("q", w)
	w.next(t) // ids[1] in flight
	e.request("q", w)
	w.next(t) // ids[2]
	if err := e.b.Nack("q", ids[2], w.key, 250*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	e.sync()
	e.leave(w)
	e.restart()
	s := e.stats("q")
	if s.Ready != 3 || s.Delayed != 1 || s.InFlight != 0 {
		t.Fatalf("after restart: %+v, want ids 1, 3, 4 ready and 2 delayed", s)
	}
	w = e.connect("worker", "w2", nil)
	var got []string
	for range 4 {
		e.request("q", w)
		d := w.next(t)
		got = append(got, d.id)
		e.ack("q", d.id)
	}
	// The message in flight at the restart came back to the tail; the delayed one waits.
	want := []string{ids[3], ids[4], ids[1], ids[2]}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestBroker_RestartRefundsInterruptedDelivery(t *testing.T) {
	e := newEnv(t, func(c *queue.Config) { c.MaxDeliveries = 1 })
	w := e.connect("worker", "w1", nil)
	id := e.enqueue("q", nil, "x")
	e.request("q", w)
	w.next(t)
	e.sync()
	e.index.Remove(w.key, w) // the process dies: no ClientLeft
	e.restart()
	msg, _, _ := e.b.DeadLetters("q", 0, 1)
	if s := e.stats("q"); s.Ready != 1 || len(msg) != 0 {
		t.Fatalf("got %+v, want the message ready again, not dead-lettered", s)
	}
	w = e.connect("worker", "w2", nil)
	e.request("q", w)
	if d := w.next(t); d.id != id {
		t.Fatal(d)
	}
}

func TestBroker_PurgeAndDeadLetterAdmin(t *testing.T) {
	e := newEnv(t, func(c *queue.Config) { c.MaxDeliveries = 1 })
	w := e.connect("worker", "w1", nil)
	var dead []string
	for i := range 3 {
		id := e.enqueue("q", nil, int64(i))
		e.request("q", w)
		w.next(t)
		if err := e.b.Nack("q", id, w.key, 0); err != nil {
			t.Fatal(err)
		}
		dead = append(dead, id)
	}
	e.enqueue("q", app("nobody"), "a")
	e.enqueue("q", app("nobody"), "b")
	page, next, err := e.b.DeadLetters("q", 0, 2)
	if err != nil || len(page) != 2 || page[0].ID != dead[0] || page[1].ID != dead[1] || next == 0 {
		t.Fatalf("page 1: %v next %d %v", page, next, err)
	}
	page, next, _ = e.b.DeadLetters("q", next, 2)
	if len(page) != 1 || page[0].ID != dead[2] || next != 0 {
		t.Fatalf("page 2: %v next %d", page, next)
	}
	if n, err := e.b.PurgeDead(t.Context(), "q", []string{dead[1], "unknown", dead[1]}); n != 1 || err != nil {
		t.Errorf("purge one dead letter: %d %v", n, err)
	}
	if n, err := e.b.Purge(t.Context(), "q"); n != 2 || err != nil {
		t.Errorf("purge: %d %v", n, err)
	}
	if s := e.stats("q"); s.Depth() != 0 || s.Dead != 2 {
		t.Errorf("got %+v", s)
	}
	if n, err := e.b.PurgeDead(t.Context(), "q", nil); n != 2 || err != nil {
		t.Errorf("purge all dead letters: %d %v", n, err)
	}
	for _, err := range []error{
		func() error { _, err := e.b.Purge(t.Context(), "nope"); return err }(),
		func() error { _, _, err := e.b.DeadLetters("nope", 0, 1); return err }(),
		func() error { _, err := e.b.QueueStats("nope"); return err }(),
	} {
		if !errors.Is(err, bus.ErrQueueNotFound) {
			t.Errorf("unknown queue: got %v, want ErrQueueNotFound", err)
		}
	}
}

func TestBroker_Stats(t *testing.T) {
	e := newEnv(t, nil)
	w := e.connect("worker", "w1", nil)
	e.request("waited", w)
	e.enqueue("held", app("nobody"), "abc")
	got := e.b.Stats()
	if len(got) != 2 || got[0].Name != "held" || got[0].Ready != 1 || got[0].Bytes == 0 ||
		got[1].Name != "waited" || got[1].Waiting != 1 {
		t.Errorf("got %+v", got)
	}
	e.restart()
	if got := e.b.Stats(); len(got) != 1 || got[0].Name != "held" {
		t.Errorf("after restart: %+v, want the held queue only (waiting is not durable)", got)
	}
}

func TestBroker_RefusesBadInput(t *testing.T) {
	e := newEnv(t, func(c *queue.Config) { c.MaxBytes = 200 })
	long := string(make([]byte, queue.MaxNameBytes+1))
	for _, name := range []string{"", long, "\xff"} {
		if _, err := e.b.Enqueue(name, nil, nil, nil, nil); !errors.Is(err, bus.ErrInvalidQueue) {
			t.Errorf("queue %q: got %v, want ErrInvalidQueue", name, err)
		}
		if err := e.b.Request(name, bus.ClientKey{}); !errors.Is(err, bus.ErrInvalidQueue) {
			t.Errorf("request %q: got %v, want ErrInvalidQueue", name, err)
		}
	}
	if _, err := e.b.Enqueue("q", "not a query", nil, nil, nil); !errors.Is(err, bus.ErrInvalidQuery) {
		t.Errorf("bad target: got %v, want ErrInvalidQuery", err)
	}
	if _, err := e.b.Enqueue("q", nil, nil, make([]any, 0), nil); err != nil {
		t.Fatal(err)
	}
	big := fmt.Sprintf("%0200d", 0)
	if _, err := e.b.Enqueue("q", nil, nil, big, nil); !errors.Is(err, bus.ErrQueueFull) {
		t.Errorf("over MaxBytes: got %v, want ErrQueueFull", err)
	}
}

func TestBroker_Lifecycle(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.b.Open(); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("second Open: got %v, want ErrClosed", err)
	}
	b := e.b
	e.close()
	if err := b.Close(t.Context()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := b.Enqueue("q", nil, nil, nil, nil); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Enqueue after Close: got %v, want ErrClosed", err)
	}
	done := make(chan error, 1)
	b.Sync(func(err error) { done <- err })
	if err := <-done; !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Sync after Close: got %v", err)
	}
}

func TestConfig_Validate(t *testing.T) {
	if err := queue.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := queue.Config{AckTimeout: 0, MaxDeliveries: 0, MaxNackDelay: -1, MaxBytes: 0}
	err := bad.Validate()
	for _, rule := range []string{"ack timeout", "max deliveries", "max nack delay", "max bytes"} {
		if !errors.Is(err, queue.ErrConfig) || !strings.Contains(err.Error(), rule) {
			t.Errorf("got %v, want it to name %q", err, rule)
		}
	}
}

func TestBroker_ClientBackBeforeItsDepartureIsHandled(t *testing.T) {
	e := newEnv(t, func(c *queue.Config) { c.AckTimeout = 100 * time.Millisecond })
	old := e.connect("worker", "w", nil)
	id := e.enqueue("q", nil, "x")
	e.request("q", old)
	old.next(t)
	// The client reconnects, and asks again, before the broker hears that the old connection
	// left: the departure must not cancel the new connection's request.
	e.index.Remove(old.key, old)
	renewed := e.connect("worker", "w", nil)
	e.request("q", renewed)
	e.b.ClientLeft(old.key)
	if s := e.stats("q"); s.Waiting != 1 {
		t.Fatalf("got %+v, want the new connection still waiting", s)
	}
	// The message in flight to the old connection comes back at its deadline, to the new one.
	if d := renewed.next(t); d.id != id {
		t.Fatalf("got %s", d.id)
	}
}
