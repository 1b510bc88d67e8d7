package queue

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/mahou-go/mahou/bus"
)

// Restore adds a stored message to the state, as the store holds it; Finish must follow the
// last Restore. It is how a state is rebuilt from disk (or from a snapshot).
func (m *Machine) Restore(queue string, rec Record, body []byte) error {
	id := rec.ID
	target, err := TargetBytes(body)
	if err != nil {
		return fmt.Errorf("restore %s/%s: %w", queue, id, err)
	}
	if rec.State < Ready || rec.State > Dead {
		return fmt.Errorf("restore %s/%s: state %d: %w", queue, id, rec.State, ErrCorrupt)
	}
	q := m.ensureQueue(queue)
	if _, dup := q.msgs[id]; dup {
		return fmt.Errorf("restore %s/%s: %w", queue, id, ErrDuplicate)
	}
	msg := &message{id: id, num: rec.Num, q: q, rec: rec, body: body, target: string(target)}
	q.msgs[id] = msg
	q.bytes += int64(len(body))
	m.bytes += int64(len(body))
	m.seq = max(m.seq, rec.Seq)
	if rec.State != Ready { // Ready messages join their groups in Seq order in Finish
		m.enter(msg)
	}
	return nil
}

// RestoreQueue adds an empty queue, as the store holds it.
func (m *Machine) RestoreQueue(name string) { m.ensureQueue(name) }

// Finish files the restored Ready messages in their groups, in Seq order.
func (m *Machine) Finish() {
	for _, q := range m.queues {
		var ready []*message
		for _, msg := range q.msgs {
			if msg.rec.State == Ready && msg.group == nil {
				ready = append(ready, msg)
			}
		}
		slices.SortFunc(ready, bySeq)
		for _, msg := range ready {
			m.enter(msg)
		}
	}
	m.changes = nil
}

// Queues returns the names of the queues, sorted.
func (m *Machine) Queues() []string {
	names := make([]string, 0, len(m.queues))
	for n := range m.queues {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Stats counts what the queue holds; ok is false when there is no such queue. Waiting is left
// to the caller, which knows the consumers.
func (m *Machine) Stats(name string) (bus.QueueStats, bool) {
	q := m.queues[name]
	if q == nil {
		return bus.QueueStats{}, false
	}
	return bus.QueueStats{Name: name, Ready: q.counts[Ready], Delayed: q.counts[Delayed],
		InFlight: q.counts[InFlight], Dead: q.counts[Dead], Bytes: q.bytes}, true
}

// Bytes is the stored size of every message of every queue.
func (m *Machine) Bytes() int64 { return m.bytes }

// Message returns one message as the queue API shows it; ok is false when there is none.
func (m *Machine) Message(queue, id string) (bus.QueueMessage, Record, bool) {
	msg := m.find(queue, id)
	if msg == nil {
		return bus.QueueMessage{}, Record{}, false
	}
	return view(msg), msg.rec, true
}

// DeadLetters returns up to limit dead messages of a queue with a Seq above after, oldest
// first, and the Seq to pass as after for the next page (0 when there is none).
func (m *Machine) DeadLetters(queue string, after uint64, limit int) ([]bus.DeadLetter, uint64) {
	dead := m.selectDead(queue, nil, true)
	i, _ := slices.BinarySearchFunc(dead, after+1, func(msg *message, s uint64) int { return cmp.Compare(msg.rec.Seq, s) })
	dead = dead[i:]
	var next uint64
	if len(dead) > limit {
		dead = dead[:limit]
		next = dead[limit-1].rec.Seq
	}
	out := make([]bus.DeadLetter, len(dead))
	for i, msg := range dead {
		out[i] = bus.DeadLetter{QueueMessage: view(msg), DeadAt: msg.rec.At, Reason: msg.rec.Reason}
	}
	return out, next
}

// view decodes a message for the queue API. A body that does not decode shows as nulls: it
// passed the same decoder when it was stored, so this does not happen short of a corrupt file.
func view(msg *message) bus.QueueMessage {
	target, nonce, payload, _ := DecodeBody(msg.body)
	return bus.QueueMessage{ID: msg.id, Queue: msg.q.name, Target: target, Nonce: nonce, Payload: payload,
		EnqueuedAt: msg.rec.EnqueuedAt, Deliveries: int(msg.rec.Deliveries)}
}

// inFlightTo returns the messages in flight to consumer, in Seq order.
func (m *Machine) inFlightTo(consumer bus.ClientKey) []*message {
	set := m.byConsumer[consumer]
	out := make([]*message, 0, len(set))
	for msg := range set {
		out = append(out, msg)
	}
	slices.SortFunc(out, bySeq)
	return out
}

// inFlight returns every message in flight, in queue then Seq order.
func (m *Machine) inFlight() []*message {
	var out []*message
	for _, name := range m.Queues() {
		start := len(out)
		for _, msg := range m.queues[name].msgs {
			if msg.rec.State == InFlight {
				out = append(out, msg)
			}
		}
		slices.SortFunc(out[start:], bySeq)
	}
	return out
}
