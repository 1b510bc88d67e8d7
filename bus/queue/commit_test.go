package queue_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mahou-go/mahou/bus/query"
	"github.com/mahou-go/mahou/bus/queue"
)

// gatedStore holds every Save until the test lets it through, and records what was saved.
type gatedStore struct {
	*memStore
	gate    chan error    // each Save takes one value: nil to succeed, an error to fail
	entered chan struct{} // a Save started
	mu      sync.Mutex    // guards saves
	saves   [][]queue.Change
}

func (s *gatedStore) Save(changes []queue.Change) error {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	if err := <-s.gate; err != nil {
		return err
	}
	s.mu.Lock()
	s.saves = append(s.saves, changes)
	s.mu.Unlock()
	return s.memStore.Save(changes)
}

func (s *gatedStore) saved() [][]queue.Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]queue.Change(nil), s.saves...)
}

func TestBroker_ConfirmsAfterCommitAndCoalesces(t *testing.T) {
	store := &gatedStore{memStore: newMemStore(), gate: make(chan error), entered: make(chan struct{}, 1)}
	index := query.NewIndex()
	b, err := queue.NewBroker(queue.DefaultConfig(), store, index, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		go func() {
			for range store.gate {
			}
		}()
		b.Close(t.Context())
		close(store.gate)
	})
	w := &consumer{key: keyOf("worker", "w"), got: make(chan delivered, 16)}
	index.Add(clientOf(w.key), w)
	confirmed := make(chan string, 4)
	first, _ := b.Enqueue("q", nil, nil, "first", func(err error) { confirmed <- "first" })
	<-store.entered
	// The committer now waits in Save with the first message. Meanwhile a second message is
	// enqueued, delivered and acknowledged: it never needs to reach the disk.
	if err := b.Request("q", w.key); err != nil {
		t.Fatal(err)
	}
	if d := w.next(t); d.id != first {
		t.Fatalf("got %s", d.id)
	}
	second, _ := b.Enqueue("q", nil, nil, "second", func(err error) { confirmed <- "second" })
	b.Request("q", w.key)
	w.next(t)
	b.Ack("q", second)
	select {
	case c := <-confirmed:
		t.Fatalf("%s confirmed before its commit", c)
	default:
	}
	store.gate <- nil // the first commit
	if c := <-confirmed; c != "first" {
		t.Fatalf("got %s", c)
	}
	<-store.entered
	store.gate <- nil // the second: first's delivery only
	if c := <-confirmed; c != "second" {
		t.Fatalf("got %s", c)
	}
	saves := store.saved()
	if len(saves) != 2 || len(saves[1]) != 1 || saves[1][0].Record.ID != first || saves[1][0].Record.State != queue.InFlight {
		t.Errorf("second commit: got %+v, want only the first message's delivery", saves)
	}
	// A batch with nothing left to write confirms without a commit.
	third, _ := b.Enqueue("q", nil, nil, "third", func(err error) { confirmed <- "third" })
	b.Ack("q", third)
	if c := <-confirmed; c != "third" || len(store.saved()) != 2 {
		t.Errorf("got %s after %d commits", c, len(store.saved()))
	}
}

func TestBroker_FailedCommitStopsTheBroker(t *testing.T) {
	store := &gatedStore{memStore: newMemStore(), gate: make(chan error, 1), entered: make(chan struct{}, 1)}
	b, err := queue.NewBroker(queue.DefaultConfig(), store, query.NewIndex(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(t.Context()) })
	done := make(chan error, 1)
	store.gate <- errors.New("disk full")
	if _, err := b.Enqueue("q", nil, nil, "x", func(err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, queue.ErrStore) {
			t.Fatalf("got %v, want ErrStore", err)
		}
	case <-time.After(waitFor):
		t.Fatal("no confirmation")
	}
	if _, err := b.Enqueue("q", nil, nil, "y", nil); !errors.Is(err, queue.ErrStore) {
		t.Errorf("enqueue after a failed commit: got %v, want ErrStore", err)
	}
}
