package queue

import (
	"container/heap"
	"time"
)

// msgKey names one message.
type msgKey struct{ queue, id string }

// timers holds one deadline per message that has one: an ACK deadline while it is in flight,
// the end of its delay while it is delayed. It is a min-heap with an index, so a deadline is
// replaced or dropped in O(log n) when the message moves on.
type timers struct {
	items []*timer
	at    map[msgKey]*timer
}

type timer struct {
	key   msgKey
	when  int64 // ms since the Unix epoch
	index int
}

func newTimers() *timers { return &timers{at: make(map[msgKey]*timer)} }

// set gives k the deadline when, replacing any it had.
func (t *timers) set(k msgKey, when int64) {
	if it := t.at[k]; it != nil {
		it.when = when
		heap.Fix(t, it.index)
		return
	}
	it := &timer{key: k, when: when}
	t.at[k] = it
	heap.Push(t, it)
}

// drop removes k's deadline, if any.
func (t *timers) drop(k msgKey) {
	if it := t.at[k]; it != nil {
		heap.Remove(t, it.index)
		delete(t.at, k)
	}
}

// next returns the earliest deadline.
func (t *timers) next() (int64, bool) {
	if len(t.items) == 0 {
		return 0, false
	}
	return t.items[0].when, true
}

// due removes and returns every key whose deadline is at or before now.
func (t *timers) due(now int64) []msgKey {
	var out []msgKey
	for len(t.items) > 0 && t.items[0].when <= now {
		it := heap.Pop(t).(*timer)
		delete(t.at, it.key)
		out = append(out, it.key)
	}
	return out
}

// heap.Interface, for container/heap only.
func (t *timers) Len() int           { return len(t.items) }
func (t *timers) Less(i, j int) bool { return t.items[i].when < t.items[j].when }
func (t *timers) Swap(i, j int) {
	t.items[i], t.items[j] = t.items[j], t.items[i]
	t.items[i].index, t.items[j].index = i, j
}
func (t *timers) Push(x any) {
	it := x.(*timer)
	it.index = len(t.items)
	t.items = append(t.items, it)
}
func (t *timers) Pop() any {
	n := len(t.items) - 1
	it := t.items[n]
	t.items[n] = nil
	t.items = t.items[:n]
	return it
}

// timerLoop applies the deadlines as they come: an expired delivery comes back (Expire), a
// delay ends (Release). It sleeps until the earliest deadline or until one earlier than it is
// set.
func (b *Broker) timerLoop() {
	defer b.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		b.mu.Lock()
		when, ok := b.timers.next()
		b.mu.Unlock()
		wait := time.Hour
		if ok {
			wait = max(time.Until(time.UnixMilli(when)), 0)
		}
		t.Reset(wait)
		select {
		case <-t.C:
			b.fireTimers()
		case <-b.timerWake:
		case <-b.stop:
			return
		}
	}
}

// fireTimers applies every deadline that has passed.
func (b *Broker) fireTimers() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != stateOpen || !b.leading {
		return
	}
	now := b.stamp()
	for _, k := range b.timers.due(now) {
		msg := b.m.find(k.queue, k.id)
		switch {
		case msg == nil:
		case msg.rec.State == InFlight:
			b.apply(Expire{Queue: k.queue, ID: k.id, At: now, MaxDeliveries: uint32(b.cfg.MaxDeliveries)})
		case msg.rec.State == Delayed:
			b.apply(Release{Queue: k.queue, ID: k.id, At: now})
		}
	}
	b.settle()
}
