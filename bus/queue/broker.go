package queue

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/query"
)

// Broker runs the durable queues of one node: it applies commands to the Machine, writes what
// they change to the Store in group commits, delivers Ready messages to the consumers waiting
// for them, and takes back what is not acknowledged in time.
//
// Commands are applied in memory at once and written to disk by a committer goroutine, many per
// bbolt transaction; a confirmation (Enqueue's done, Sync, the admin calls) waits for the
// commit that holds its command. The commit order is the apply order, so a confirmation also
// covers everything applied before it: a client that ACKs and then enqueues knows, once the
// enqueue is confirmed, that its ACK is on disk. A delivery may reach a consumer before its
// messages's enqueue is on disk; if the process dies before, the producer was never told the
// message was accepted.
type Broker struct {
	cfg     Config
	store   Store
	clients query.Finder
	log     *slog.Logger
	metrics *metrics

	// replicator, when set (before Open), makes the broker a replica driven by a raft log.
	replicator Replicator
	token      uint64 // random: names this broker's log entries (replicated mode)

	// fsmMu serialises ApplyLog, RestoreSnapshot and the reloads of stepping down, which
	// write or read the store as the log left it. Taken before mu.
	fsmMu   sync.Mutex
	applied uint64 // the index of the last log entry in the store; guarded by fsmMu

	// mu guards every field below. Lock order: mu, then the query index's lock (through
	// clients), then a connection's lock (through Recipient.Deliver). Nothing holding those
	// calls into the Broker, and mu is never held while calling the store, except to reload
	// the machine when it stops leading.
	mu        sync.Mutex
	m         *Machine
	leading   bool      // the broker dispatches and takes work: always once open when standalone
	cmds      []Command // applied since the last proposal (replicated mode)
	proposed  []proposal
	proposals uint64                                // numbers this broker's entries
	waiting   map[string]*waitList                  // queue → consumers waiting on it
	consumers map[bus.ClientKey]map[string]struct{} // consumer → queues it waits on
	pending   []Change                              // applied, not yet given to the store
	callbacks []func(error)                         // to call once pending is committed
	timers    *timers
	lastAt    int64 // the last time stamped, so stamps never go back
	state     brokerState
	failed    error // set when a commit failed: nothing is applied after it

	commitWake chan struct{} // capacity 1: pending has work
	timerWake  chan struct{} // capacity 1: a deadline earlier than the next one was set
	stop       chan struct{} // closed by Close
	wg         sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error
}

type brokerState int

const (
	stateNew brokerState = iota
	stateOpen
	stateClosed
)

// NewBroker validates cfg and builds a broker over store, routing with clients; it starts
// nothing. The broker owns store from Open on and closes it in Close.
func NewBroker(cfg Config, store Store, clients query.Finder, log *slog.Logger) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Broker{
		cfg: cfg, store: store, clients: clients, log: log, metrics: newMetrics(),
		m: NewMachine(), waiting: make(map[string]*waitList), consumers: make(map[bus.ClientKey]map[string]struct{}),
		timers: newTimers(), commitWake: make(chan struct{}, 1), timerWake: make(chan struct{}, 1),
		stop: make(chan struct{}),
	}, nil
}

// Open loads the stored queues and starts the committer and the timers. A standalone broker
// leads at once: every message that was in flight when the process stopped comes back to its
// queue (its consumer's connection is gone), without counting that delivery. A replicated one
// follows until Lead.
func (b *Broker) Open() error {
	b.fsmMu.Lock()
	defer b.fsmMu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != stateNew {
		return fmt.Errorf("open queues: %w", ErrClosed)
	}
	if err := b.load(); err != nil {
		return fmt.Errorf("open queues: %w", err)
	}
	b.state = stateOpen
	b.wg.Add(2)
	go b.commitLoop()
	go b.timerLoop()
	returned := 0
	if b.replicator == nil {
		b.leading = true
		b.armTimers()
		returned = b.returnInFlight(true)
	}
	b.log.Info("queues open", "queues", len(b.m.queues), "bytes", b.m.Bytes(), "returned_in_flight", returned,
		"replicated", b.replicator != nil, "applied_index", b.applied)
	return nil
}

// load replaces the machine by what the store holds. Called with fsmMu and mu held.
func (b *Broker) load() error {
	m := NewMachine()
	if err := b.store.Load(func(name string) error { m.RestoreQueue(name); return nil }, m.Restore); err != nil {
		return err
	}
	m.Finish()
	b.m = m
	if rs, ok := b.store.(ReplicaStore); ok {
		applied, err := rs.Applied()
		if err != nil {
			return err
		}
		b.applied = applied
	}
	return nil
}

// armTimers sets the deadlines of the messages in flight and delayed. Called with mu held.
func (b *Broker) armTimers() {
	b.timers = newTimers()
	for _, q := range b.m.queues {
		for _, msg := range q.msgs {
			if msg.rec.State == Delayed || msg.rec.State == InFlight {
				b.timers.set(msgKey{q.name, msg.id}, msg.rec.At)
			}
		}
	}
	signal(b.timerWake)
}

// returnInFlight gives back, without counting the delivery, every message in flight (all), or
// those in flight to a consumer that is not connected, and returns how many. Called with mu
// held, leading.
func (b *Broker) returnInFlight(all bool) int {
	now := b.stamp()
	returned := 0
	for _, msg := range b.m.inFlight() {
		if _, ok := b.clients.Get(msg.rec.Consumer); ok && !all {
			continue
		}
		b.apply(Return{Queue: msg.q.name, ID: msg.id, Consumer: msg.rec.Consumer, At: now, Refund: true})
		returned++
	}
	b.settle()
	return returned
}

// Close stops the timers, writes what was applied and closes the store. It waits for the
// broker's goroutines (a commit in progress ends first) and is idempotent.
func (b *Broker) Close(ctx context.Context) error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		wasOpen := b.state == stateOpen
		b.state = stateClosed
		b.mu.Unlock()
		close(b.stop)
		done := make(chan struct{})
		go func() { b.wg.Wait(); close(done) }()
		var errs []error
		select {
		case <-done:
		case <-ctx.Done():
			<-done // a commit in progress must end before the store closes
			errs = append(errs, fmt.Errorf("close queues: %w", ctx.Err()))
		}
		if wasOpen {
			if err := b.store.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close queue store: %w", err))
			}
		}
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}

// usable reports why the broker takes no work, or nil. Called with mu held.
func (b *Broker) usable() error {
	if b.state != stateOpen {
		return ErrClosed
	}
	if b.failed != nil {
		return b.failed
	}
	if !b.leading {
		return ErrNotLeader
	}
	return nil
}

// stamp returns the current time in ms, never earlier than the last stamp. Called with mu held.
func (b *Broker) stamp() int64 {
	b.lastAt = max(b.lastAt, time.Now().UnixMilli())
	return b.lastAt
}

// apply applies c to the machine and files its changes: they join the next commit, and each
// changed message's deadline follows its new state. Called with mu held.
func (b *Broker) apply(c Command) Result {
	res := b.m.Apply(c)
	if b.replicator != nil {
		b.cmds = append(b.cmds, c)
	}
	b.metrics.applied(c, res)
	for _, ch := range b.m.takeChanges() {
		k := msgKey{ch.Queue, ch.Record.ID}
		switch {
		case ch.Deleted || (ch.Record.State != InFlight && ch.Record.State != Delayed):
			b.timers.drop(k)
		default:
			first, ok := b.timers.next()
			b.timers.set(k, ch.Record.At)
			if !ok || ch.Record.At < first {
				signal(b.timerWake)
			}
		}
		if !ch.Deleted && ch.Record.State == Dead {
			b.metrics.deadLettered.Inc()
		}
		b.pending = append(b.pending, ch)
	}
	return res
}

// settle delivers what became deliverable and wakes the committer. Called with mu held, after
// every change.
func (b *Broker) settle() {
	for {
		groups := b.m.takeReadied()
		if len(groups) == 0 {
			break
		}
		for _, g := range groups {
			b.drain(g)
		}
	}
	if len(b.pending) > 0 || len(b.callbacks) > 0 {
		signal(b.commitWake)
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// CheckName reports whether name can name a queue: a non-empty UTF-8 string of at most
// MaxNameBytes bytes.
func CheckName(name string) error {
	if name == "" || len(name) > MaxNameBytes || !utf8.ValidString(name) {
		return fmt.Errorf("%w: queue: must be a non-empty UTF-8 string of at most %d bytes", bus.ErrInvalidQueue, MaxNameBytes)
	}
	return nil
}

// Enqueue appends a message to queue (created on first use) and returns its id. target is the
// wire form of a target query. done is called once the message is on disk, or with the error
// that kept it off; it runs on the committer goroutine and must not block. An error returned
// by Enqueue itself means nothing was enqueued and done will not be called.
func (b *Broker) Enqueue(queue string, target, nonce, payload any, done func(error)) (string, error) {
	body, err := prepareEnqueue(queue, target, nonce, payload)
	if err != nil {
		return "", err
	}
	id := NewID()
	return id, b.EnqueueBody(queue, id, body, done)
}

// prepareEnqueue checks an enqueue's queue name and target and encodes its body.
func prepareEnqueue(queue string, target, nonce, payload any) ([]byte, error) {
	if err := CheckName(queue); err != nil {
		return nil, err
	}
	if _, err := query.Parse(target); err != nil {
		return nil, fmt.Errorf("enqueue: target: %w", err)
	}
	body, err := EncodeBody(target, nonce, payload)
	if err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	return body, nil
}

// EnqueueBody is Enqueue of a body already encoded (EncodeBody) under an id already chosen
// (NewID), as a follower forwards it. An id the queue holds already is taken as the same
// message sent again: done learns when it is on disk, and nothing else changes.
func (b *Broker) EnqueueBody(queue, id string, body []byte, done func(error)) error {
	if _, err := TargetBytes(body); err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.usable(); err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	if b.m.find(queue, id) == nil {
		if b.m.Bytes()+int64(len(body)) > b.cfg.MaxBytes {
			return fmt.Errorf("enqueue: %w: the queues hold %d bytes, at most %d", bus.ErrQueueFull, b.m.Bytes(), b.cfg.MaxBytes)
		}
		if res := b.apply(Enqueue{Queue: queue, ID: id, At: b.stamp(), Body: body}); res.Err != nil {
			return fmt.Errorf("enqueue: %w", res.Err)
		}
	}
	if done != nil {
		b.callbacks = append(b.callbacks, done)
	}
	b.settle()
	return nil
}

// Ack deletes a message wherever it is: the consumer processed it. An unknown id does nothing,
// as in the original; so does an ACK for a message already acknowledged.
func (b *Broker) Ack(queue, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.usable(); err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	b.apply(Ack{Queue: queue, ID: id})
	b.settle()
	return nil
}

// Nack gives back a message in flight to consumer: it is ready again at once, or after delay
// (at most Config.MaxNackDelay), unless it reached the delivery limit and is dead-lettered. A
// NACK for a message not in flight to consumer does nothing.
func (b *Broker) Nack(queue, id string, consumer bus.ClientKey, delay time.Duration) error {
	if delay < 0 || delay > b.cfg.MaxNackDelay {
		return fmt.Errorf("%w: delay: must be between 0 and %d ms", bus.ErrInvalidQueue, b.cfg.MaxNackDelay.Milliseconds())
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.usable(); err != nil {
		return fmt.Errorf("nack: %w", err)
	}
	now := b.stamp()
	readyAt := now
	if delay > 0 {
		readyAt = now + max(delay.Milliseconds(), 1)
	}
	b.apply(Return{Queue: queue, ID: id, Consumer: consumer, At: now, ReadyAt: readyAt,
		MaxDeliveries: uint32(b.cfg.MaxDeliveries)})
	b.settle()
	return nil
}

// Sync calls done once everything applied so far is on disk, or with the error that kept it
// off. done runs on the committer goroutine, or at once on the caller's when the broker is not
// open; it must not block.
func (b *Broker) Sync(done func(error)) {
	b.mu.Lock()
	err := b.usable()
	if err == nil {
		b.callbacks = append(b.callbacks, done)
		signal(b.commitWake)
	}
	b.mu.Unlock()
	if err != nil {
		done(fmt.Errorf("sync: %w", err))
	}
}

// NewID returns a random UUID v4, a message id.
func NewID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails (it panics if the OS cannot give randomness)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0xf])
	}
	return string(out)
}
