package queue

import (
	"fmt"

	"github.com/mahou-go/mahou/bus"
)

// CommandType is the first byte after the version of an encoded command.
type CommandType uint8

// The command types. Their numbers are part of the encoding: never reuse one.
const (
	TypeEnqueue CommandType = 1 + iota
	TypeDeliver
	TypeAck
	TypeReturn
	TypeExpire
	TypeRelease
	TypeRequeueDead
	TypePurgeDead
	TypePurge
)

// commandVersion is the first byte of every encoded command.
const commandVersion = 1

// Command is one deterministic change of the queue state, applied by Machine.Apply. Whatever
// depends on the clock or on chance (message ids, times, deadlines, limits) is stamped into the
// command by whoever proposes it, so that replicas applying the same commands in the same order
// reach the same state.
type Command interface {
	Type() CommandType
	encode(e *encoder)
}

// Enqueue appends a new message to the tail of a queue, creating the queue if needed.
type Enqueue struct {
	Queue, ID string
	At        int64
	// Body is EncodeBody(target, nonce, payload).
	Body []byte
}

// Deliver hands a Ready message to Consumer until Deadline.
type Deliver struct {
	Queue, ID string
	Consumer  bus.ClientKey
	At        int64
	Deadline  int64
}

// Ack deletes a message wherever it is (in flight, ready again after a timeout, or dead): the
// consumer processed it.
type Ack struct{ Queue, ID string }

// Return takes back a message in flight to Consumer (a NACK, a consumer that left, a server
// restart). It becomes Ready, or Delayed until ReadyAt when ReadyAt > At, unless it was
// delivered MaxDeliveries times, when it is dead-lettered. Refund uncounts the delivery, for a
// delivery cut short by a server restart.
type Return struct {
	Queue, ID     string
	Consumer      bus.ClientKey
	At, ReadyAt   int64
	MaxDeliveries uint32
	Refund        bool
}

// Expire takes back a message whose ACK deadline is at or before At, like Return.
type Expire struct {
	Queue, ID     string
	At            int64
	MaxDeliveries uint32
}

// Release makes a Delayed message whose delay ended at or before At Ready.
type Release struct {
	Queue, ID string
	At        int64
}

// RequeueDead moves dead messages (IDs, or every one when All) back to the tail of the queue,
// with their delivery count reset.
type RequeueDead struct {
	Queue string
	IDs   []string
	All   bool
	At    int64
}

// PurgeDead deletes dead messages (IDs, or every one when All).
type PurgeDead struct {
	Queue string
	IDs   []string
	All   bool
}

// Purge deletes every Ready and Delayed message of a queue. In-flight messages stay until they
// are acknowledged or come back; dead ones stay in the dead-letter list.
type Purge struct{ Queue string }

func (Enqueue) Type() CommandType     { return TypeEnqueue }
func (Deliver) Type() CommandType     { return TypeDeliver }
func (Ack) Type() CommandType         { return TypeAck }
func (Return) Type() CommandType      { return TypeReturn }
func (Expire) Type() CommandType      { return TypeExpire }
func (Release) Type() CommandType     { return TypeRelease }
func (RequeueDead) Type() CommandType { return TypeRequeueDead }
func (PurgeDead) Type() CommandType   { return TypePurgeDead }
func (Purge) Type() CommandType       { return TypePurge }

// EncodeCommand encodes c: a version byte, its type byte, then its fields. It is the form a
// replicated log carries.
func EncodeCommand(c Command) []byte {
	e := encoder{b: make([]byte, 0, 64)}
	e.byte(commandVersion)
	e.byte(byte(c.Type()))
	c.encode(&e)
	return e.b
}

// DecodeCommand decodes what EncodeCommand wrote.
func DecodeCommand(b []byte) (Command, error) {
	d := decoder{b: b}
	if v := d.byte(); d.err == nil && v != commandVersion {
		return nil, fmt.Errorf("decode command: version %d: %w", v, ErrVersion)
	}
	t := CommandType(d.byte())
	if d.err != nil {
		return nil, d.err
	}
	c := decodeFields(t, &d)
	if c == nil {
		return nil, fmt.Errorf("decode command: type %d: %w", t, ErrCorrupt)
	}
	if err := d.end("command"); err != nil {
		return nil, err
	}
	return c, nil
}

// decodeFields decodes the fields of a command of type t, or returns nil for an unknown type.
func decodeFields(t CommandType, d *decoder) Command {
	switch t {
	case TypeEnqueue:
		return Enqueue{Queue: d.string(), ID: d.string(), At: d.int(), Body: d.bytes()}
	case TypeDeliver:
		return Deliver{Queue: d.string(), ID: d.string(), Consumer: decodeKey(d), At: d.int(), Deadline: d.int()}
	case TypeAck:
		return Ack{Queue: d.string(), ID: d.string()}
	case TypeReturn:
		return Return{Queue: d.string(), ID: d.string(), Consumer: decodeKey(d), At: d.int(), ReadyAt: d.int(),
			MaxDeliveries: decodeCount(d), Refund: d.bool()}
	case TypeExpire:
		return Expire{Queue: d.string(), ID: d.string(), At: d.int(), MaxDeliveries: decodeCount(d)}
	case TypeRelease:
		return Release{Queue: d.string(), ID: d.string(), At: d.int()}
	case TypeRequeueDead:
		return RequeueDead{Queue: d.string(), IDs: d.strings(), All: d.bool(), At: d.int()}
	case TypePurgeDead:
		return PurgeDead{Queue: d.string(), IDs: d.strings(), All: d.bool()}
	case TypePurge:
		return Purge{Queue: d.string()}
	}
	return nil
}

func decodeKey(d *decoder) bus.ClientKey { return bus.ClientKey{App: d.string(), ID: d.string()} }

func decodeCount(d *decoder) uint32 {
	n := d.uint()
	if n > 1<<32-1 {
		d.fail("count")
	}
	return uint32(n)
}

func encodeKey(e *encoder, k bus.ClientKey) { e.string(k.App); e.string(k.ID) }

func (c Enqueue) encode(e *encoder) {
	e.string(c.Queue)
	e.string(c.ID)
	e.int(c.At)
	e.bytes(c.Body)
}

func (c Deliver) encode(e *encoder) {
	e.string(c.Queue)
	e.string(c.ID)
	encodeKey(e, c.Consumer)
	e.int(c.At)
	e.int(c.Deadline)
}

func (c Ack) encode(e *encoder) {
	e.string(c.Queue)
	e.string(c.ID)
}

func (c Return) encode(e *encoder) {
	e.string(c.Queue)
	e.string(c.ID)
	encodeKey(e, c.Consumer)
	e.int(c.At)
	e.int(c.ReadyAt)
	e.uint(uint64(c.MaxDeliveries))
	e.bool(c.Refund)
}

func (c Expire) encode(e *encoder) {
	e.string(c.Queue)
	e.string(c.ID)
	e.int(c.At)
	e.uint(uint64(c.MaxDeliveries))
}

func (c Release) encode(e *encoder) {
	e.string(c.Queue)
	e.string(c.ID)
	e.int(c.At)
}

func (c RequeueDead) encode(e *encoder) {
	e.string(c.Queue)
	e.strings(c.IDs)
	e.bool(c.All)
	e.int(c.At)
}

func (c PurgeDead) encode(e *encoder) {
	e.string(c.Queue)
	e.strings(c.IDs)
	e.bool(c.All)
}

func (c Purge) encode(e *encoder) { e.string(c.Queue) }
