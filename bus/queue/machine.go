package queue

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/mahou-go/mahou/bus"
)

// Machine is the state of every queue: what Apply makes of a sequence of commands. It does no
// I/O, reads no clock and draws no random numbers, so that replicas applying the same commands
// in the same order hold the same state (a raft FSM can drive it as the Broker does). It is not
// safe for concurrent use: its owner serialises every call.
//
// A worked example, one queue "jobs" and a consumer c:
//
//	Enqueue{jobs, m1}      m1 Ready   seq 1   group {"application":"worker"}
//	Enqueue{jobs, m2}      m2 Ready   seq 2   same group, behind m1
//	Deliver{jobs, m1, c}   m1 InFlight to c until the deadline, deliveries 1
//	Expire{jobs, m1, max 1} m1 Dead (delivered once, the limit), seq 3
//	RequeueDead{jobs, all} m1 Ready   seq 4, deliveries 0: behind m2
//	Ack{jobs, m2}          m2 deleted
type Machine struct {
	queues     map[string]*queueState
	seq        uint64 // the last Seq handed out
	byConsumer map[bus.ClientKey]map[*message]struct{}
	bytes      int64

	changes []Change // what Apply changed since takeChanges
	readied []*group // groups that went from no Ready message to one, since takeReadied
}

// queueState is one queue.
type queueState struct {
	name    string
	msgs    map[string]*message
	groups  map[string]*group     // Ready messages by target
	queries map[string]*bus.Query // parsed targets by encoding, a bounded cache
	counts  [Dead + 1]int         // messages by State
	bytes   int64
}

// message is one message of a queue.
type message struct {
	id     string
	num    uint64 // Record.Num
	q      *queueState
	rec    Record
	body   []byte
	target string // TargetBytes(body): the key of its group
	group  *group // while Ready
}

// Result is what applying a command did.
type Result struct {
	// N counts the messages the command changed.
	N int
	// Err is set when the command was refused (ErrDuplicate); nothing changed then.
	Err error
}

// NewMachine returns an empty state.
func NewMachine() *Machine {
	return &Machine{queues: make(map[string]*queueState), byConsumer: make(map[bus.ClientKey]map[*message]struct{})}
}

// Apply applies one command. A command about a message that is not where the command expects
// it (already acknowledged, delivered elsewhere, purged) changes nothing and reports N == 0.
func (m *Machine) Apply(c Command) Result {
	switch c := c.(type) {
	case Enqueue:
		return m.enqueue(c)
	case Deliver:
		return m.deliver(c)
	case Ack:
		return m.ack(c)
	case Return:
		msg := m.find(c.Queue, c.ID)
		if msg == nil || msg.rec.State != InFlight || (c.Consumer != (bus.ClientKey{}) && msg.rec.Consumer != c.Consumer) {
			return Result{}
		}
		m.takeBack(msg, c.At, c.ReadyAt, c.MaxDeliveries, c.Refund)
		return Result{N: 1}
	case Expire:
		msg := m.find(c.Queue, c.ID)
		if msg == nil || msg.rec.State != InFlight || msg.rec.At > c.At {
			return Result{}
		}
		m.takeBack(msg, c.At, 0, c.MaxDeliveries, false)
		return Result{N: 1}
	case Release:
		msg := m.find(c.Queue, c.ID)
		if msg == nil || msg.rec.State != Delayed || msg.rec.At > c.At {
			return Result{}
		}
		m.set(msg, Record{State: Ready, Deliveries: msg.rec.Deliveries, EnqueuedAt: msg.rec.EnqueuedAt}, false)
		return Result{N: 1}
	case RequeueDead:
		return m.requeueDead(c)
	case PurgeDead:
		return m.purgeWhere(c.Queue, m.selectDead(c.Queue, c.IDs, c.All))
	case Purge:
		return m.purgeWhere(c.Queue, m.selectWaiting(c.Queue))
	}
	return Result{}
}

func (m *Machine) enqueue(c Enqueue) Result {
	target, err := TargetBytes(c.Body)
	if err != nil {
		return Result{Err: err}
	}
	q := m.ensureQueue(c.Queue)
	if _, dup := q.msgs[c.ID]; dup {
		return Result{Err: fmt.Errorf("enqueue %s in %s: %w", c.ID, c.Queue, ErrDuplicate)}
	}
	// The message's number is the Seq set is about to give it.
	msg := &message{id: c.ID, num: m.seq + 1, q: q, body: c.Body, target: string(target)}
	q.msgs[c.ID] = msg
	q.bytes += int64(len(c.Body))
	m.bytes += int64(len(c.Body))
	m.set(msg, Record{State: Ready, EnqueuedAt: c.At}, true)
	return Result{N: 1}
}

func (m *Machine) deliver(c Deliver) Result {
	msg := m.find(c.Queue, c.ID)
	if msg == nil || msg.rec.State != Ready {
		return Result{}
	}
	rec := msg.rec
	rec.State, rec.At, rec.Consumer = InFlight, c.Deadline, c.Consumer
	rec.Deliveries++
	m.set(msg, rec, false)
	return Result{N: 1}
}

func (m *Machine) ack(c Ack) Result {
	msg := m.find(c.Queue, c.ID)
	if msg == nil {
		return Result{}
	}
	m.remove(msg)
	return Result{N: 1}
}

// takeBack ends a delivery: the message is dead-lettered if it was delivered maxDeliveries
// times (0: no limit), else Delayed until readyAt, or Ready.
func (m *Machine) takeBack(msg *message, at, readyAt int64, maxDeliveries uint32, refund bool) {
	rec := Record{Deliveries: msg.rec.Deliveries, EnqueuedAt: msg.rec.EnqueuedAt}
	if refund && rec.Deliveries > 0 {
		rec.Deliveries--
	}
	switch {
	case maxDeliveries > 0 && rec.Deliveries >= maxDeliveries:
		rec.State, rec.At, rec.Reason = Dead, at, "max_deliveries"
	case readyAt > at:
		rec.State, rec.At = Delayed, readyAt
	default:
		rec.State = Ready
	}
	m.set(msg, rec, false)
}

func (m *Machine) requeueDead(c RequeueDead) Result {
	n := 0
	for _, msg := range m.selectDead(c.Queue, c.IDs, c.All) {
		if msg.rec.State != Dead { // a repeated id
			continue
		}
		m.set(msg, Record{State: Ready, EnqueuedAt: msg.rec.EnqueuedAt}, false)
		n++
	}
	return Result{N: n}
}

// selectDead returns the dead messages named by ids, in that order, or every dead message in
// Seq order when all.
func (m *Machine) selectDead(queue string, ids []string, all bool) []*message {
	q := m.queues[queue]
	if q == nil {
		return nil
	}
	var out []*message
	if all {
		for _, msg := range q.msgs {
			if msg.rec.State == Dead {
				out = append(out, msg)
			}
		}
		slices.SortFunc(out, bySeq)
		return out
	}
	for _, id := range ids {
		if msg := q.msgs[id]; msg != nil && msg.rec.State == Dead {
			out = append(out, msg)
		}
	}
	return out
}

// selectWaiting returns the Ready and Delayed messages of a queue in Seq order.
func (m *Machine) selectWaiting(queue string) []*message {
	q := m.queues[queue]
	if q == nil {
		return nil
	}
	var out []*message
	for _, msg := range q.msgs {
		if msg.rec.State == Ready || msg.rec.State == Delayed {
			out = append(out, msg)
		}
	}
	slices.SortFunc(out, bySeq)
	return out
}

func (m *Machine) purgeWhere(queue string, msgs []*message) Result {
	n := 0
	for _, msg := range msgs {
		if m.find(queue, msg.id) == msg {
			m.remove(msg)
			n++
		}
	}
	return Result{N: n}
}

func bySeq(a, b *message) int { return cmp.Compare(a.rec.Seq, b.rec.Seq) }

func (m *Machine) find(queue, id string) *message {
	if q := m.queues[queue]; q != nil {
		return q.msgs[id]
	}
	return nil
}

func (m *Machine) ensureQueue(name string) *queueState {
	q := m.queues[name]
	if q == nil {
		q = &queueState{name: name, msgs: make(map[string]*message), groups: make(map[string]*group),
			queries: make(map[string]*bus.Query)}
		m.queues[name] = q
	}
	return q
}

// set moves msg to rec, taking a new Seq unless rec is InFlight, and records the change.
func (m *Machine) set(msg *message, rec Record, isNew bool) {
	if rec.State == InFlight {
		rec.Seq = msg.rec.Seq
	} else {
		m.seq++
		rec.Seq = m.seq
	}
	rec.ID, rec.Num = msg.id, msg.num
	m.leave(msg)
	msg.rec = rec
	m.enter(msg)
	ch := Change{Queue: msg.q.name, Record: rec}
	if isNew {
		ch.Body = msg.body
	}
	m.changes = append(m.changes, ch)
}

func (m *Machine) remove(msg *message) {
	m.leave(msg)
	q := msg.q
	delete(q.msgs, msg.id)
	q.bytes -= int64(len(msg.body))
	m.bytes -= int64(len(msg.body))
	msg.rec.State = 0
	m.changes = append(m.changes, Change{Queue: q.name, Record: Record{ID: msg.id, Num: msg.num}, Deleted: true})
}

// leave undoes what enter did for msg's current state.
func (m *Machine) leave(msg *message) {
	q := msg.q
	switch msg.rec.State {
	case 0:
		return
	case Ready:
		g := msg.group
		msg.group = nil
		if g.live--; g.live == 0 {
			delete(q.groups, g.key)
		}
	case InFlight:
		if set := m.byConsumer[msg.rec.Consumer]; set != nil {
			delete(set, msg)
			if len(set) == 0 {
				delete(m.byConsumer, msg.rec.Consumer)
			}
		}
	}
	q.counts[msg.rec.State]--
}

// enter files msg under its current state.
func (m *Machine) enter(msg *message) {
	q := msg.q
	q.counts[msg.rec.State]++
	switch msg.rec.State {
	case Ready:
		g := q.groups[msg.target]
		if g == nil {
			g = newGroup(q, msg.target)
			q.groups[msg.target] = g
		}
		if g.live == 0 {
			m.readied = append(m.readied, g)
		}
		msg.group = g
		g.push(msg)
	case InFlight:
		set := m.byConsumer[msg.rec.Consumer]
		if set == nil {
			set = make(map[*message]struct{})
			m.byConsumer[msg.rec.Consumer] = set
		}
		set[msg] = struct{}{}
	}
}

// takeChanges returns the changes applied since the last call.
func (m *Machine) takeChanges() []Change {
	c := m.changes
	m.changes = nil
	return c
}

// takeReadied returns the groups that got a first Ready message since the last call.
func (m *Machine) takeReadied() []*group {
	g := m.readied
	m.readied = m.readied[:0:0]
	return g
}
