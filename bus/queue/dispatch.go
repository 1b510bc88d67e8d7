package queue

import (
	"container/list"
	"fmt"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/etf"
	"github.com/mahou-go/mahou/bus/query"
)

// waitList is the consumers waiting on one queue, longest waiting first. A consumer waits from
// its QUEUE_REQUEST until a message is delivered to it (one message per request, as in the
// original), it cancels, or it leaves.
type waitList struct {
	order *list.List // of *waiter
	at    map[bus.ClientKey]*list.Element
}

// waiter is one consumer waiting on a queue; done, if set, learns when the wait ends.
type waiter struct {
	key  bus.ClientKey
	done func(error)
}

func (w *waitList) len() int { return w.order.Len() }

// Dispatch keeps one invariant: after every change, no waiting consumer matches the target of
// the oldest Ready message of any group of its queue. Groups share a target, so only two
// events can break it, and each is handled where it happens:
//   - a group gets a first Ready message (enqueue, a message coming back, a delay ending,
//     a dead letter requeued): drain delivers its messages while a waiting consumer matches;
//   - a consumer starts waiting, or a waiting consumer's metadata changes: offer gives it the
//     oldest message it matches, over every group of the queue.
//
// A message whose target matches no waiting consumer stays Ready; messages behind it with
// other targets still flow. FIFO holds for first deliveries: a consumer gets the oldest
// message it matches.

// Request makes consumer wait on queue for one message, delivering it at once if one is
// ready. Requesting again while waiting changes nothing.
func (b *Broker) Request(queue string, consumer bus.ClientKey) error {
	return b.Wait(queue, consumer, nil)
}

// Wait is Request with done, which is called once when the wait ends: with nil when a message
// was delivered to consumer, the wait was cancelled or consumer left, and with ErrNotLeader
// when this broker stops leading (the wait must be placed with the new leader). done runs
// with the broker's lock held: it must not block nor call the broker. When Wait returns an
// error, done is not called. When consumer already waits on queue, its wait stays in place and
// a non-nil done replaces the previous one, which is never called: a wait placed again (its
// node lost its link to this one for a moment) reports to whoever placed it last.
func (b *Broker) Wait(queue string, consumer bus.ClientKey, done func(error)) error {
	if err := CheckName(queue); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.usable(); err != nil {
		return fmt.Errorf("request: %w", err)
	}
	w := b.waiting[queue]
	if w == nil {
		w = &waitList{order: list.New(), at: make(map[bus.ClientKey]*list.Element)}
		b.waiting[queue] = w
	}
	if e, ok := w.at[consumer]; ok {
		if done != nil {
			e.Value.(*waiter).done = done
		}
		return nil
	}
	w.at[consumer] = w.order.PushBack(&waiter{key: consumer, done: done})
	qs := b.consumers[consumer]
	if qs == nil {
		qs = make(map[string]struct{})
		b.consumers[consumer] = qs
	}
	qs[queue] = struct{}{}
	b.offer(queue, consumer)
	b.settle()
	return nil
}

// Cancel ends consumer's wait on queue, if it waits.
func (b *Broker) Cancel(queue string, consumer bus.ClientKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.unwait(queue, consumer)
}

// ClientChanged tells the broker that consumer's metadata changed: the targets it matches may
// have changed, so every queue it waits on offers it a message again.
func (b *Broker) ClientChanged(consumer bus.ClientKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != stateOpen || !b.leading {
		return
	}
	for queue := range b.consumers[consumer] {
		b.offer(queue, consumer)
	}
	b.settle()
}

// ClientLeft tells the broker that consumer disconnected: it waits on nothing any more, and
// every message in flight to it comes back (counted as a delivery: a consumer that crashes on
// a message is how poison messages show).
//
// If the client already connected again (a new connection holds its key), nothing is done:
// the waits and deliveries filed under the key may be the new connection's, and the key cannot
// tell them apart. Messages in flight to the old connection then come back at their ACK
// deadline instead of at once.
func (b *Broker) ClientLeft(consumer bus.ClientKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, back := b.clients.Get(consumer); back {
		return
	}
	b.unwaitAll(consumer)
	if b.state != stateOpen || !b.leading {
		return
	}
	now := b.stamp()
	for _, msg := range b.m.inFlightTo(consumer) {
		b.apply(Return{Queue: msg.q.name, ID: msg.id, Consumer: consumer, At: now,
			MaxDeliveries: uint32(b.cfg.MaxDeliveries)})
	}
	b.settle()
}

// unwait removes consumer from queue's wait list. Called with mu held.
func (b *Broker) unwait(queue string, consumer bus.ClientKey) {
	if w := b.waiting[queue]; w != nil {
		if e, ok := w.at[consumer]; ok {
			w.order.Remove(e)
			delete(w.at, consumer)
			if done := e.Value.(*waiter).done; done != nil {
				done(nil)
			}
		}
		if w.len() == 0 {
			delete(b.waiting, queue)
		}
	}
	if qs := b.consumers[consumer]; qs != nil {
		delete(qs, queue)
		if len(qs) == 0 {
			delete(b.consumers, consumer)
		}
	}
}

// offer delivers to consumer, waiting on queue, the oldest Ready message whose target it
// matches, if any. Called with mu held.
func (b *Broker) offer(queue string, consumer bus.ClientKey) {
	q := b.m.queues[queue]
	if q == nil {
		return
	}
	t, ok := b.clients.Get(consumer)
	if !ok {
		b.unwait(queue, consumer)
		return
	}
	var best *message
	for _, g := range q.groups {
		head := g.first()
		if head == nil || g.query == nil || (best != nil && head.rec.Seq > best.rec.Seq) {
			continue
		}
		if query.Match(g.query, t.Client) {
			best = head
		}
	}
	if best != nil {
		b.deliver(best, consumer, t)
	}
}

// drain delivers the messages of g, oldest first, while a waiting consumer matches them.
// Called with mu held.
func (b *Broker) drain(g *group) {
	if g.q.groups[g.key] != g || g.query == nil {
		return // emptied since
	}
	for {
		w := b.waiting[g.q.name]
		head := g.first()
		if w == nil || head == nil {
			return
		}
		consumer, t, ok := b.pick(g.query, w)
		if !ok {
			return
		}
		b.deliver(head, consumer, t)
	}
}

// pick chooses the consumer of w that gets a message whose target is q: the longest waiting
// one that matches, or, when q has a selector, the one the selector picks among those that
// match. Consumers that left are dropped on the way. Called with mu held.
func (b *Broker) pick(q *bus.Query, w *waitList) (bus.ClientKey, query.Target, bool) {
	var matches []query.Target
	for e := w.order.Front(); e != nil; {
		next := e.Next()
		key := e.Value.(*waiter).key
		t, ok := b.clients.Get(key)
		switch {
		case !ok:
			b.unwaitAll(key)
		case query.Match(q, t.Client):
			if q.Selector == nil {
				return key, t, true
			}
			matches = append(matches, t)
		}
		e = next
	}
	if len(matches) == 0 {
		return bus.ClientKey{}, query.Target{}, false
	}
	t, ok := query.Select(matches, q.Selector)
	if !ok {
		return bus.ClientKey{}, query.Target{}, false
	}
	return t.Client.Key, t, true
}

// unwaitAll removes a consumer that is gone from every wait list. Called with mu held.
func (b *Broker) unwaitAll(consumer bus.ClientKey) {
	for queue := range b.consumers[consumer] {
		b.unwait(queue, consumer)
	}
}

// deliver hands msg to consumer: the consumer stops waiting, and, if its connection takes the
// frame, the message is in flight until the ACK deadline. A connection that refuses it (closed,
// or cut off as a slow consumer) leaves the message Ready. Called with mu held.
func (b *Broker) deliver(msg *message, consumer bus.ClientKey, t query.Target) {
	queue := msg.q.name
	b.unwait(queue, consumer)
	_, nonceB, payloadB, err := splitBody(msg.body)
	var nonce, payload any
	if err == nil {
		if nonce, err = decodeValue(nonceB); err == nil {
			payload, err = decodeValue(payloadB)
		}
	}
	if err != nil {
		b.log.Error("undecodable stored message: delivering nulls", "queue", queue, "id", msg.id, "error", err)
	}
	now := b.stamp()
	d := &bus.Delivery{Event: "QUEUE", Nonce: nonce, At: now, Payload: etf.Struct{
		{Key: "queue", Value: queue}, {Key: "payload", Value: payload}, {Key: "id", Value: msg.id}}}
	if !t.Recipient.Deliver(d) {
		return
	}
	b.apply(Deliver{Queue: queue, ID: msg.id, Consumer: consumer, At: now,
		Deadline: now + b.cfg.AckTimeout.Milliseconds()})
}
