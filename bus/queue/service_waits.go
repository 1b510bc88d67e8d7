package queue

import (
	"errors"
	"fmt"
	"time"

	"github.com/mahou-go/mahou/bus"
)

// Request makes consumer, a client of this node, wait on queue for one message, wherever the
// leader is: the wait is kept here until it ends (a message was delivered, it was cancelled,
// the consumer left), and placed again with every new leader. Requesting again while waiting
// changes nothing.
func (s *Service) Request(queue string, consumer bus.ClientKey) error {
	if err := CheckName(queue); err != nil {
		return err
	}
	k := waitKey{queue: queue, consumer: consumer}
	s.mu.Lock()
	if _, ok := s.waits[k]; ok {
		s.mu.Unlock()
		return nil
	}
	w := &wait{key: k}
	s.waits[k] = w
	s.mu.Unlock()
	err := s.place(w)
	if err != nil && !errors.Is(err, ErrNotLeader) {
		s.mu.Lock()
		if s.waits[k] == w {
			delete(s.waits, k)
		}
		s.mu.Unlock()
		return err
	}
	return nil
}

// place places w with the leader, if one is known; the watch places it later otherwise. It
// returns the error of this node's broker refusing it.
func (s *Service) place(w *wait) error {
	node, self := s.route()
	if !self && node == "" {
		return nil
	}
	s.mu.Lock()
	if s.waits[w.key] != w {
		s.mu.Unlock()
		return nil // cancelled meanwhile
	}
	s.next++
	id := s.next
	w.id, w.node = id, node
	if !self {
		s.calls[id] = &call{node: node, wait: &w.key}
	}
	s.mu.Unlock()
	if self {
		err := s.b.Wait(w.key.queue, w.key.consumer, func(err error) { s.waitEnded(w.key, id, err) })
		if err != nil {
			s.unplace(w.key, id)
		}
		return err
	}
	if !s.t.Send(node, encodeOp(id, op{typ: opRequest, queue: w.key.queue, consumer: w.key.consumer})) {
		s.mu.Lock()
		delete(s.calls, id)
		s.mu.Unlock()
		s.unplace(w.key, id)
	}
	return nil
}

// waitEnded learns that the wait placed as call id ended: for good, or, with ErrNotLeader (the
// leader stepped down) or another failure, to be placed again. It may run with the broker's
// lock held.
func (s *Service) waitEnded(k waitKey, id uint64, err error) {
	if err != nil {
		s.unplace(k, id)
		return
	}
	s.mu.Lock()
	if w := s.waits[k]; w != nil && w.id == id {
		delete(s.waits, k)
	}
	s.mu.Unlock()
}

func (s *Service) unplace(k waitKey, id uint64) {
	s.mu.Lock()
	if w := s.waits[k]; w != nil && w.id == id {
		w.id, w.node = 0, ""
	}
	s.mu.Unlock()
}

// Cancel ends consumer's wait on queue, if it waits.
func (s *Service) Cancel(queue string, consumer bus.ClientKey) {
	k := waitKey{queue: queue, consumer: consumer}
	s.mu.Lock()
	w := s.waits[k]
	delete(s.waits, k)
	s.mu.Unlock()
	if w == nil || w.id == 0 {
		return
	}
	if w.node == "" {
		s.b.Cancel(queue, consumer)
		return
	}
	s.t.Send(w.node, encodeOp(0, op{typ: opCancel, queue: queue, consumer: consumer}))
}

// ClientLeft tells the service that consumer, a client of this or another node, is gone: its
// waits here end, and the broker, when it leads, takes back what was in flight to it (see
// Broker.ClientLeft). The leader learns of a client of another node leaving from the cluster,
// not from that node's service.
func (s *Service) ClientLeft(consumer bus.ClientKey) {
	s.mu.Lock()
	for k := range s.waits {
		if k.consumer == consumer {
			delete(s.waits, k)
		}
	}
	s.mu.Unlock()
	s.b.ClientLeft(consumer)
}

// ClientChanged passes a change of a client's metadata to the broker (see
// Broker.ClientChanged).
func (s *Service) ClientChanged(consumer bus.ClientKey) { s.b.ClientChanged(consumer) }

// PeerDown tells the service that the link to node broke: what was forwarded to it gets no
// answer. Calls waiting for one fail with ErrNoLeader (their outcome is unknown: an enqueue
// may have been committed), and waits placed there are placed again.
func (s *Service) PeerDown(node string) {
	s.mu.Lock()
	var failed []func(error)
	for id, c := range s.calls {
		if c.node != node {
			continue
		}
		delete(s.calls, id)
		if c.done != nil {
			failed = append(failed, c.done)
		}
		if c.wait != nil {
			if w := s.waits[*c.wait]; w != nil && w.id == id {
				w.id, w.node = 0, ""
			}
		}
	}
	s.mu.Unlock()
	runAll(failed, fmt.Errorf("%w: the link to %s broke", ErrNoLeader, node))
}

// watch follows the leadership: when the leader changes, calls sent to the previous one fail
// (their outcome is unknown) and every wait is placed with the new one.
func (s *Service) watch() {
	defer close(s.done)
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.follow()
	}
}

func (s *Service) follow() {
	node, self := s.route()
	s.mu.Lock()
	changed := node != s.leader || self != s.self
	s.leader, s.self = node, self
	var failed []func(error)
	var unplaced []*wait
	for id, c := range s.calls {
		if changed && c.node != node {
			delete(s.calls, id)
			if c.done != nil {
				failed = append(failed, c.done)
			}
		}
	}
	for _, w := range s.waits {
		if changed && w.id != 0 && (w.node != node || !self && node == "") {
			w.id, w.node = 0, ""
		}
		if w.id == 0 {
			unplaced = append(unplaced, w)
		}
	}
	s.mu.Unlock()
	if changed {
		s.log.Info("queue leader changed", "leader", node, "self", self, "waits", len(unplaced))
	}
	runAll(failed, fmt.Errorf("%w: the leader changed", ErrNoLeader))
	if self || node != "" {
		for _, w := range unplaced {
			if err := s.place(w); err != nil && !errors.Is(err, ErrNotLeader) {
				s.log.Warn("placing a queue request failed", "queue", w.key.queue, "error", err)
			}
		}
	}
}

// Receive handles a message another node's service sent (Transport): an operation, when this
// node leads, or the answer to one this node forwarded.
func (s *Service) Receive(from string, msg []byte) {
	m, err := decodeMessage(msg)
	if err != nil {
		s.log.Error("undecodable queue message", "from", from, "error", err)
		return
	}
	if m.kind == kindReply {
		s.answer(m.call, m.err)
		return
	}
	s.serve(from, m.call, m.op)
}

// serve runs an operation forwarded by node from; its answer goes back to from.
func (s *Service) serve(from string, id uint64, o op) {
	reply := func(err error) {
		if id != 0 {
			s.t.Send(from, encodeReply(id, err))
		}
	}
	var err error
	switch o.typ {
	case opEnqueue:
		err = s.b.EnqueueBody(o.queue, o.id, o.body, reply)
	case opRequest:
		err = s.b.Wait(o.queue, o.consumer, reply)
	case opCancel:
		s.b.Cancel(o.queue, o.consumer)
	case opAck:
		err = s.b.Ack(o.queue, o.id)
	case opNack:
		err = s.b.Nack(o.queue, o.id, o.consumer, o.delay)
	case opSync:
		s.b.Sync(reply)
	}
	if err != nil && (o.typ == opEnqueue || o.typ == opRequest) {
		reply(err)
	}
}

// answer hands the leader's answer to the call it answers.
func (s *Service) answer(id uint64, err error) {
	s.mu.Lock()
	c := s.calls[id]
	delete(s.calls, id)
	s.mu.Unlock()
	if c == nil {
		return // failed already (the leader changed, the link broke)
	}
	if c.wait != nil {
		s.waitEnded(*c.wait, id, err)
	}
	if c.done != nil {
		c.done(err)
	}
}
