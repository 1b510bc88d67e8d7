package queue

import (
	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/query"
)

// group holds the Ready messages of one queue that share a target, in FIFO (Seq) order. Grouping
// by target is what lets dispatch skip a whole backlog that nobody waiting can take: every
// message of a group has the same match set, so when the head cannot be delivered, nothing
// behind it can.
type group struct {
	key   string     // the encoded target (TargetBytes)
	query *bus.Query // the parsed target; nil if it does not parse, and then nothing matches
	q     *queueState
	fifo  []slot // Ready messages in Seq order, with stale slots skipped lazily
	head  int    // fifo[:head] were taken
	live  int    // Ready messages in the group
}

// slot is one place in a group's FIFO. It is stale when its message left Ready (or left and came
// back, with a new Seq) since it was pushed.
type slot struct {
	msg *message
	seq uint64
}

func newGroup(q *queueState, key string) *group {
	return &group{key: key, q: q, query: q.parsed(key)}
}

// maxParsed bounds a queue's cache of parsed targets.
const maxParsed = 1024

// parsed returns the parsed target whose encoding is key, from the queue's cache: groups come
// and go with every message when consumers keep up, their targets mostly stay the same.
func (q *queueState) parsed(key string) *bus.Query {
	if p, ok := q.queries[key]; ok {
		return p
	}
	var p *bus.Query
	if v, err := decodeValue([]byte(key)); err == nil {
		p, _ = query.Parse(v)
	}
	if len(q.queries) >= maxParsed {
		clear(q.queries)
	}
	q.queries[key] = p
	return p
}

func (g *group) push(m *message) {
	g.fifo = append(g.fifo, slot{msg: m, seq: m.rec.Seq})
	g.live++
}

// first returns the oldest Ready message of the group, or nil.
func (g *group) first() *message {
	for g.head < len(g.fifo) {
		s := g.fifo[g.head]
		if s.msg.group == g && s.msg.rec.State == Ready && s.msg.rec.Seq == s.seq {
			return s.msg
		}
		g.fifo[g.head] = slot{}
		g.head++
	}
	g.compact()
	return nil
}

// compact drops taken slots once they are most of the FIFO, so it does not grow without bound.
func (g *group) compact() {
	if g.head < 64 || g.head*2 < len(g.fifo) {
		return
	}
	n := copy(g.fifo, g.fifo[g.head:])
	clear(g.fifo[n:])
	g.fifo, g.head = g.fifo[:n], 0
}
