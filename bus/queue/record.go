package queue

import (
	"fmt"
	"io"

	"github.com/mahou-go/mahou/bus"
)

// State is where a message is in its life.
type State uint8

// The states of a message. A message is deleted when it is acknowledged or purged.
const (
	// Ready messages wait for a consumer, in FIFO order of their Seq.
	Ready State = 1 + iota
	// Delayed messages were NACKed with a delay and become Ready at Record.At.
	Delayed
	// InFlight messages were delivered to Record.Consumer and wait for an ACK until Record.At.
	InFlight
	// Dead messages are in the dead-letter list, ordered by Seq.
	Dead
)

func (s State) String() string {
	switch s {
	case Ready:
		return "ready"
	case Delayed:
		return "delayed"
	case InFlight:
		return "in_flight"
	case Dead:
		return "dead"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// recordVersion is the first byte of every encoded Record.
const recordVersion = 1

// Record is the state of one message, everything but its body. It is what the store keeps per
// message beside the body, rewritten on every change.
type Record struct {
	// ID is the message's id.
	ID string
	// Num is the message's number: its Seq when it was enqueued, fixed for its life. Numbers
	// grow with time, so a store keyed by them appends instead of writing all over its file.
	Num   uint64
	State State
	// Seq orders the message within its state: a new Seq is taken from the machine's counter
	// whenever the message enters Ready, Delayed or Dead, so FIFO order is Seq order.
	Seq uint64
	// Deliveries counts the deliveries so far.
	Deliveries uint32
	// EnqueuedAt is when the message was enqueued (ms since the Unix epoch).
	EnqueuedAt int64
	// At is, by state: Delayed, when it becomes Ready; InFlight, its ACK deadline; Dead, when it
	// died (ms since the Unix epoch). Zero for Ready.
	At int64
	// Consumer is the client an InFlight message was delivered to.
	Consumer bus.ClientKey
	// Reason says why a Dead message died.
	Reason string
}

// AppendBinary appends the encoding of r to b: a version byte, then the fields.
func (r Record) AppendBinary(b []byte) ([]byte, error) {
	e := encoder{b: b}
	e.byte(recordVersion)
	e.string(r.ID)
	e.uint(r.Num)
	e.byte(byte(r.State))
	e.uint(r.Seq)
	e.uint(uint64(r.Deliveries))
	e.int(r.EnqueuedAt)
	e.int(r.At)
	e.string(r.Consumer.App)
	e.string(r.Consumer.ID)
	e.string(r.Reason)
	return e.b, nil
}

// DecodeRecord decodes what AppendBinary wrote.
func DecodeRecord(b []byte) (Record, error) {
	d := decoder{b: b}
	if v := d.byte(); d.err == nil && v != recordVersion {
		return Record{}, fmt.Errorf("decode record: version %d: %w", v, ErrVersion)
	}
	var r Record
	r.ID = d.string()
	r.Num = d.uint()
	r.State = State(d.byte())
	r.Seq = d.uint()
	deliveries := d.uint()
	r.EnqueuedAt = d.int()
	r.At = d.int()
	r.Consumer.App = d.string()
	r.Consumer.ID = d.string()
	r.Reason = d.string()
	if err := d.end("record"); err != nil {
		return Record{}, err
	}
	if r.State < Ready || r.State > Dead || deliveries > 1<<32-1 {
		return Record{}, fmt.Errorf("decode record: state %d, deliveries %d: %w", r.State, deliveries, ErrCorrupt)
	}
	r.Deliveries = uint32(deliveries)
	return r, nil
}

// Change is one message's new state, produced by applying a command, for the store to write.
type Change struct {
	Queue string
	// Record is the message's state. When Deleted, only its ID and Num are meaningful.
	Record Record
	// Body is set when the message is new (enqueued by the command): the store writes it once.
	Body []byte
	// Deleted means the message is gone: acknowledged or purged.
	Deleted bool
}

// Store keeps the queues on disk. The broker calls Save from one goroutine at a time; Load
// runs once, before the first Save.
type Store interface {
	// Load calls queue once for every stored queue (also one without messages), then msg for
	// each of its messages. body may be kept: the store hands out a copy.
	Load(queue func(name string) error, msg func(queue string, rec Record, body []byte) error) error
	// Save writes changes, in order, in one transaction and returns once it is durable
	// (fsync). A message is named by its queue and Record.Num; a later change of the same
	// message wins. On error nothing may be assumed written.
	Save(changes []Change) error
	// Close releases the store; it is idempotent.
	Close() error
}

// Backuper is a Store that can copy itself while it serves.
type Backuper interface {
	// Backup writes a consistent copy of the store to w and returns its size; size, if not
	// nil, is called with the copy's exact size before anything is written.
	Backup(w io.Writer, size func(int64)) (int64, error)
}
