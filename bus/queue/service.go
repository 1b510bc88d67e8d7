package queue

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mahou-go/mahou/bus"
)

// Transport is how a Service reaches the node that leads the queue group.
type Transport interface {
	// Leader returns the id of the node leading the queue group ("" when none is known) and
	// whether it is this node.
	Leader() (node string, self bool)
	// Send queues msg for the Service of node, after everything sent to it before, and
	// reports false when no link to node is up. A true does not mean msg arrived: the link
	// may break (the Service then gets PeerDown).
	Send(node string, msg []byte) bool
}

// watchInterval is how often a Service checks who leads and places the waits that are not.
const watchInterval = 50 * time.Millisecond

// Service is the queue operations of one node, as the protocol's handlers see them: it runs
// them on its own Broker when this node leads the queue group, and forwards them to the
// leader's Service otherwise, whose answers (QUEUE_CONFIRM, errors) come back to it. It also
// keeps the waits (QUEUE_REQUEST) of this node's clients until they end, and places them again
// with each new leader, since a leader's wait lists die with its leadership.
//
// Without a Transport (a standalone broker) everything runs on the Broker.
type Service struct {
	b   *Broker
	t   Transport
	log *slog.Logger

	// mu guards calls, waits, next, leader and self. It is taken below Broker.mu (the end of a
	// wait is reported under it), and never held while calling the broker or the transport.
	mu     sync.Mutex
	calls  map[uint64]*call // forwarded, waiting for the leader's answer
	waits  map[waitKey]*wait
	next   uint64
	leader string // the leader the waits were last placed with
	self   bool

	stop      chan struct{}
	done      chan struct{}
	openOnce  sync.Once
	closeOnce sync.Once
}

// call is an operation forwarded to node, waiting for its answer.
type call struct {
	node string
	done func(error) // nil for a wait's placement
	wait *waitKey
}

type waitKey struct {
	queue    string
	consumer bus.ClientKey
}

// wait is an outstanding QUEUE_REQUEST of a client of this node.
type wait struct {
	key  waitKey
	id   uint64 // the call it is placed with; 0: not placed
	node string // where it is placed; "" for this node's broker
}

// NewService builds the node's queue service over b, reaching the leader through t (nil: b
// always leads). It starts nothing.
func NewService(b *Broker, t Transport, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{b: b, t: t, log: log, calls: make(map[uint64]*call), waits: make(map[waitKey]*wait),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// Broker returns the node's broker.
func (s *Service) Broker() *Broker { return s.b }

// Open starts watching the leadership (with a Transport).
func (s *Service) Open() {
	s.openOnce.Do(func() {
		if s.t == nil {
			close(s.done)
			return
		}
		go s.watch()
	})
}

// Close stops the watch and fails what waits for an answer; it is idempotent.
func (s *Service) Close(ctx context.Context) error {
	s.openOnce.Do(func() { close(s.done) })
	s.closeOnce.Do(func() { close(s.stop) })
	select {
	case <-s.done:
	case <-ctx.Done():
		return fmt.Errorf("close queue service: %w", ctx.Err())
	}
	s.mu.Lock()
	calls := s.calls
	s.calls = make(map[uint64]*call)
	s.mu.Unlock()
	for _, c := range calls {
		if c.done != nil {
			c.done(fmt.Errorf("queue service: %w", ErrClosed))
		}
	}
	return nil
}

// route returns where operations go: this node's broker (self), another node, or nowhere
// ("", false) while no leader is known.
func (s *Service) route() (string, bool) {
	if s.t == nil {
		return "", true
	}
	node, self := s.t.Leader()
	if self {
		if s.b.Leading() {
			return "", true
		}
		return "", false // elected, not ready yet
	}
	return node, false
}

// forward sends o to node, calling done with the answer.
func (s *Service) forward(node string, o op, done func(error)) error {
	s.mu.Lock()
	s.next++
	id := s.next
	if done != nil {
		s.calls[id] = &call{node: node, done: done}
	}
	s.mu.Unlock()
	if s.t.Send(node, encodeOp(id, o)) {
		return nil
	}
	s.mu.Lock()
	delete(s.calls, id)
	s.mu.Unlock()
	return fmt.Errorf("%w: no link to the leader %s", ErrNoLeader, node)
}

// Enqueue is Broker.Enqueue wherever the leader is.
func (s *Service) Enqueue(queue string, target, nonce, payload any, done func(error)) (string, error) {
	body, err := prepareEnqueue(queue, target, nonce, payload)
	if err != nil {
		return "", err
	}
	id := NewID()
	switch node, self := s.route(); {
	case self:
		return id, s.b.EnqueueBody(queue, id, body, done)
	case node == "":
		return "", fmt.Errorf("enqueue: %w", ErrNoLeader)
	default:
		return id, s.forward(node, op{typ: opEnqueue, queue: queue, id: id, body: body}, done)
	}
}

// Ack is Broker.Ack wherever the leader is.
func (s *Service) Ack(queue, id string) error {
	return s.fireAndForget(op{typ: opAck, queue: queue, id: id}, func() error { return s.b.Ack(queue, id) })
}

// Nack is Broker.Nack wherever the leader is.
func (s *Service) Nack(queue, id string, consumer bus.ClientKey, delay time.Duration) error {
	if delay < 0 || delay > s.b.cfg.MaxNackDelay {
		return fmt.Errorf("%w: delay: must be between 0 and %d ms", bus.ErrInvalidQueue, s.b.cfg.MaxNackDelay.Milliseconds())
	}
	o := op{typ: opNack, queue: queue, id: id, consumer: consumer, delay: delay}
	return s.fireAndForget(o, func() error { return s.b.Nack(queue, id, consumer, delay) })
}

func (s *Service) fireAndForget(o op, local func() error) error {
	switch node, self := s.route(); {
	case self:
		return local()
	case node == "":
		return fmt.Errorf("%w", ErrNoLeader)
	default:
		return s.forward(node, o, nil)
	}
}

// Sync calls done once everything this node sent the leader before is on disk (see
// Broker.Sync).
func (s *Service) Sync(done func(error)) {
	switch node, self := s.route(); {
	case self:
		s.b.Sync(done)
	case node == "":
		done(fmt.Errorf("sync: %w", ErrNoLeader))
	default:
		if err := s.forward(node, op{typ: opSync}, done); err != nil {
			done(err)
		}
	}
}
