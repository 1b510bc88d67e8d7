package queue

import (
	"errors"
	"fmt"
	"time"

	"github.com/mahou-go/mahou/bus"
)

// A Service forwards its clients' queue operations to the leader's Service and gets answers
// back, over the cluster's links. A message is a version byte, a kind byte (op or reply) and a
// call id (uvarint) that the answer repeats, then:
//
//	op      type byte, then by type: enqueue queue, id, body · request queue, consumer ·
//	        cancel queue, consumer · ack queue, id · nack queue, id, consumer, delay (ms) · sync
//	reply   code byte (ok, not leader, no leader, queue full, invalid queue, invalid query,
//	        closed, store), message
//
// Strings and byte slices are length-prefixed; a consumer is its application and id.
const forwardVersion = 1

const (
	kindOp    byte = 1
	kindReply byte = 2
)

type opType byte

const (
	opEnqueue opType = iota + 1
	opRequest
	opCancel
	opAck
	opNack
	opSync
)

// op is a queue operation forwarded to the leader.
type op struct {
	typ      opType
	queue    string
	id       string // message id: enqueue, ack, nack
	body     []byte // enqueue
	consumer bus.ClientKey
	delay    time.Duration // nack
}

// The reply codes, and the errors they stand for.
const (
	codeOK byte = iota
	codeNotLeader
	codeNoLeader
	codeFull
	codeInvalidQueue
	codeInvalidQuery
	codeClosed
	codeStore
)

var codeErrors = []struct {
	code byte
	err  error
}{
	{codeNotLeader, ErrNotLeader}, {codeFull, bus.ErrQueueFull}, {codeInvalidQueue, bus.ErrInvalidQueue},
	{codeInvalidQuery, bus.ErrInvalidQuery}, {codeClosed, ErrClosed}, {codeStore, ErrStore}, {codeNoLeader, ErrNoLeader},
}

func encodeOp(call uint64, o op) []byte {
	e := encoder{b: make([]byte, 0, 48+len(o.body))}
	e.byte(forwardVersion)
	e.byte(kindOp)
	e.uint(call)
	e.byte(byte(o.typ))
	switch o.typ {
	case opEnqueue:
		e.string(o.queue)
		e.string(o.id)
		e.bytes(o.body)
	case opRequest, opCancel:
		e.string(o.queue)
		encodeKey(&e, o.consumer)
	case opAck:
		e.string(o.queue)
		e.string(o.id)
	case opNack:
		e.string(o.queue)
		e.string(o.id)
		encodeKey(&e, o.consumer)
		e.uint(uint64(o.delay.Milliseconds()))
	}
	return e.b
}

func encodeReply(call uint64, err error) []byte {
	e := encoder{b: make([]byte, 0, 32)}
	e.byte(forwardVersion)
	e.byte(kindReply)
	e.uint(call)
	code := codeOK
	if err != nil {
		code = codeNoLeader
		for _, c := range codeErrors {
			if errors.Is(err, c.err) {
				code = c.code
				break
			}
		}
	}
	e.byte(code)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	e.string(msg)
	return e.b
}

// fwdMessage is a decoded forwarded message: an op, or a reply (err nil for ok).
type fwdMessage struct {
	kind byte
	call uint64
	op   op
	err  error
}

// maxDelayMillis keeps a forwarded delay within time.Duration.
const maxDelayMillis = uint64(1<<63-1) / uint64(time.Millisecond)

func decodeMessage(b []byte) (fwdMessage, error) {
	d := decoder{b: b}
	if v := d.byte(); d.err == nil && v != forwardVersion {
		return fwdMessage{}, fmt.Errorf("decode queue message: version %d: %w", v, ErrVersion)
	}
	m := fwdMessage{kind: d.byte(), call: d.uint()}
	switch m.kind {
	case kindOp:
		m.op = decodeOp(&d)
	case kindReply:
		code, msg := d.byte(), d.string()
		if code != codeOK {
			m.err = &remoteError{msg: msg, is: ErrNoLeader}
			for _, c := range codeErrors {
				if c.code == code {
					m.err.(*remoteError).is = c.err
				}
			}
		}
	default:
		d.fail("queue message kind")
	}
	if err := d.end("queue message"); err != nil {
		return fwdMessage{}, err
	}
	return m, nil
}

func decodeOp(d *decoder) op {
	o := op{typ: opType(d.byte())}
	switch o.typ {
	case opEnqueue:
		o.queue, o.id, o.body = d.string(), d.string(), d.bytes()
	case opRequest, opCancel:
		o.queue, o.consumer = d.string(), decodeKey(d)
	case opAck:
		o.queue, o.id = d.string(), d.string()
	case opNack:
		o.queue, o.id, o.consumer = d.string(), d.string(), decodeKey(d)
		ms := d.uint()
		if ms > maxDelayMillis {
			d.fail("delay")
		}
		o.delay = time.Duration(ms) * time.Millisecond
	case opSync:
	default:
		d.fail("queue op type")
	}
	return o
}

// remoteError is an error the leader answered: its text, and the sentinel it stands for.
type remoteError struct {
	msg string
	is  error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.is }
