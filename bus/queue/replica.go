package queue

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/mahou-go/mahou/bus"
)

// Replicator carries a replicated broker's commands through a consensus log (raft): every
// replica applies the same entries in the same order with ApplyLog.
type Replicator interface {
	// Replicate appends entry to the log and returns once it is committed and this node's
	// broker applied it (ApplyLog returned), or with why it was not (this node lost the
	// leadership, the log is shutting down). Called from one goroutine, in apply order.
	Replicate(entry []byte) error
}

// ReplicaStore is a Store a log drives: it keeps the index of the last log entry applied with
// the data, in the same transaction, and copies itself for a snapshot.
type ReplicaStore interface {
	Store
	// SaveApplied is Save that also records index as the last applied log entry.
	SaveApplied(changes []Change, index uint64) error
	// Applied returns the index recorded by the last SaveApplied, 0 when none.
	Applied() (uint64, error)
	// Snapshot opens a consistent copy of the store as it is now; the copy is read later,
	// from another goroutine, while the store keeps changing.
	Snapshot() (Snapshot, error)
	// Replace replaces everything the store holds by a copy Snapshot wrote.
	Replace(r io.Reader) error
}

// Snapshot is a consistent copy of a ReplicaStore.
type Snapshot interface {
	WriteTo(w io.Writer) (int64, error)
	// Close releases the copy; it is idempotent.
	Close() error
}

// LogEntry is one committed log entry for ApplyLog. Data is nil for an entry that is not the
// broker's (a change of the log's own membership): its index is recorded, nothing applied.
type LogEntry struct {
	Index uint64
	Data  []byte
}

// proposal is an entry this broker proposed while leading: the changes its commands made when
// they were applied (at once, before the entry was committed), to write when the log hands
// the entry back.
type proposal struct {
	seq     uint64
	changes []Change
}

// Replicate makes the broker a replica driven by r: it starts as a follower (it applies what
// ApplyLog hands it and takes no work) until Lead. Call it before Open; store must be a
// ReplicaStore.
func (b *Broker) Replicate(r Replicator) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != stateNew {
		return fmt.Errorf("replicate queues: %w", ErrClosed)
	}
	if _, ok := b.store.(ReplicaStore); !ok {
		return fmt.Errorf("replicate queues: %w: the store cannot record the log index", ErrUnsupported)
	}
	var t [8]byte
	_, _ = rand.Read(t[:]) // crypto/rand.Read never fails
	b.replicator, b.token = r, binary.BigEndian.Uint64(t[:])|1
	return nil
}

// Leading reports whether the broker dispatches and takes work.
func (b *Broker) Leading() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state == stateOpen && b.leading && b.failed == nil
}

// Lead makes a replicated broker the leader: call it once this node leads the log and every
// entry before its leadership was applied (a raft barrier). Messages keep their state:
// in-flight ones keep their consumer and deadline (see ReturnOrphans).
func (b *Broker) Lead() {
	b.fsmMu.Lock()
	defer b.fsmMu.Unlock()
	b.mu.Lock()
	var fail []func(error)
	if b.leading || len(b.proposed) > 0 {
		fail = b.stepDownLocked() // left over from a leadership that ended unnoticed
	}
	if b.state == stateOpen && b.failed == nil {
		b.leading = true
		b.armTimers()
		b.log.Info("leading the queues", "queues", len(b.m.queues), "applied_index", b.applied)
	}
	b.mu.Unlock()
	runAll(fail, ErrNotLeader)
}

// ReturnOrphans gives back the messages in flight to consumers that are not connected, without
// counting the delivery: after a change of leader, once the new leader knows every node's
// clients.
func (b *Broker) ReturnOrphans() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == stateOpen && b.leading {
		if n := b.returnInFlight(false); n > 0 {
			b.log.Info("returned messages in flight to consumers that are gone", "messages", n)
		}
	}
}

// Follow makes the broker a follower: it stops dispatching and taking work, fails what waits
// for a commit, ends every wait (done gets ErrNotLeader) and goes back to the state the log
// committed, dropping what it applied ahead of the log.
func (b *Broker) Follow() {
	b.fsmMu.Lock()
	defer b.fsmMu.Unlock()
	b.mu.Lock()
	var fail []func(error)
	if b.leading || len(b.proposed) > 0 {
		fail = b.stepDownLocked()
		b.log.Info("no longer leading the queues")
	}
	b.mu.Unlock()
	runAll(fail, ErrNotLeader)
}

// stepDownLocked is Follow's work; it returns the callbacks to fail once mu is released.
// Called with fsmMu and mu held.
func (b *Broker) stepDownLocked() []func(error) {
	fail := b.callbacks
	for _, w := range b.waiting {
		for e := w.order.Front(); e != nil; e = e.Next() {
			if done := e.Value.(*waiter).done; done != nil {
				fail = append(fail, done)
			}
		}
	}
	b.leading = false
	b.waiting, b.consumers = make(map[string]*waitList), make(map[bus.ClientKey]map[string]struct{})
	b.cmds, b.pending, b.callbacks, b.proposed = nil, nil, nil, nil
	b.timers = newTimers()
	if err := b.load(); err != nil {
		b.failed = fmt.Errorf("%w: reload after losing the leadership: %v", ErrStore, err)
		b.log.Error("queue reload failed: refusing work until restart", "error", err)
	}
	return fail
}

func runAll(fs []func(error), err error) {
	for _, f := range fs {
		f(err)
	}
}

// ApplyLog applies committed log entries, in order, and writes what they changed to the
// store with the index of the last one, in one transaction. An entry this broker proposed
// while leading was applied already: only its changes are written. Entries at or below the
// index the store holds (a log replayed after a restart) are skipped. On a store failure the
// broker refuses work until restarted; the error is returned.
func (b *Broker) ApplyLog(entries []LogEntry) error {
	b.fsmMu.Lock()
	defer b.fsmMu.Unlock()
	var changes []Change
	var fail []func(error)
	upto := b.applied
	for _, e := range entries {
		if e.Index <= b.applied {
			continue
		}
		if e.Data != nil {
			ent, err := decodeEntry(e.Data)
			if err != nil {
				// Every replica fails alike on the same entry, so skipping it keeps them equal.
				b.log.Error("skipping an undecodable queue log entry", "index", e.Index, "error", err)
			} else {
				var err error
				if changes, fail, err = b.applyEntry(ent, changes, upto, fail); err != nil {
					return err
				}
			}
		}
		upto = e.Index
	}
	err := b.save(changes, upto)
	runAll(fail, ErrNotLeader)
	return err
}

// applyEntry applies one entry, appending its changes. Called with fsmMu held.
func (b *Broker) applyEntry(ent entry, changes []Change, upto uint64, fail []func(error)) ([]Change, []func(error), error) {
	b.mu.Lock()
	if ent.token == b.token && b.leading && len(b.proposed) > 0 && b.proposed[0].seq == ent.seq {
		changes = append(changes, b.proposed[0].changes...)
		b.proposed = b.proposed[1:]
		b.mu.Unlock()
		return changes, fail, nil
	}
	if b.leading || len(b.proposed) > 0 {
		// Another leader's entry: what this broker applied ahead of the log is void. Write
		// what came before, then go back to the log's state.
		b.mu.Unlock()
		if err := b.save(changes, upto); err != nil {
			return nil, fail, err
		}
		changes = nil
		b.mu.Lock()
		fail = append(fail, b.stepDownLocked()...)
	}
	for _, c := range ent.cmds {
		b.m.Apply(c)
	}
	changes = append(changes, b.m.takeChanges()...)
	b.m.takeReadied() // only a leader dispatches
	b.mu.Unlock()
	return changes, fail, nil
}

// save writes changes with the log index upto. Called with fsmMu held, not mu.
func (b *Broker) save(changes []Change, upto uint64) error {
	if upto <= b.applied {
		return nil
	}
	rs := b.store.(ReplicaStore)
	if err := rs.SaveApplied(coalesce(changes), upto); err != nil {
		err = fmt.Errorf("%w: %v", ErrStore, err)
		b.log.Error("queue commit failed: refusing work until restart", "error", err)
		b.mu.Lock()
		b.failed = err
		b.mu.Unlock()
		return err
	}
	b.applied = upto
	return nil
}

// Snapshot opens a copy of the store for a raft snapshot; call it where no ApplyLog runs (raft
// calls it on the goroutine that applies the log).
func (b *Broker) Snapshot() (Snapshot, error) {
	b.fsmMu.Lock()
	defer b.fsmMu.Unlock()
	b.mu.Lock()
	failed := b.failed
	b.mu.Unlock()
	if failed != nil {
		return nil, fmt.Errorf("snapshot queues: %w", failed)
	}
	return b.store.(ReplicaStore).Snapshot()
}

// AppliedIndex is the index of the last log entry the store holds.
func (b *Broker) AppliedIndex() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.applied
}

// RestoreSnapshot replaces the store and the state by a snapshot of another replica, as a
// follower far behind the leader gets one.
func (b *Broker) RestoreSnapshot(r io.Reader) error {
	b.fsmMu.Lock()
	defer b.fsmMu.Unlock()
	if err := b.store.(ReplicaStore).Replace(r); err != nil {
		return fmt.Errorf("restore queues: %w", err)
	}
	b.mu.Lock()
	fail := b.stepDownLocked()
	b.mu.Unlock()
	runAll(fail, ErrNotLeader)
	b.log.Info("queues restored from a snapshot", "applied_index", b.applied)
	return nil
}

// entry is a decoded log entry: the commands one commit of the leader applied, and the
// proposer's token and sequence number, by which the proposer knows its own entries.
type entry struct {
	token, seq uint64
	cmds       []Command
}

// entryVersion is the first byte of every log entry.
const entryVersion = 1

// encodeEntry encodes a log entry: the version byte, the token and sequence number (uvarints),
// the command count, then each command (EncodeCommand) length-prefixed.
func encodeEntry(token, seq uint64, cmds []Command) []byte {
	e := encoder{b: make([]byte, 0, 32+64*len(cmds))}
	e.byte(entryVersion)
	e.uint(token)
	e.uint(seq)
	e.uint(uint64(len(cmds)))
	for _, c := range cmds {
		e.bytes(EncodeCommand(c))
	}
	return e.b
}

// DecodeEntry decodes a log entry (for tests and tools); it returns the commands.
func DecodeEntry(b []byte) ([]Command, error) {
	ent, err := decodeEntry(b)
	return ent.cmds, err
}

func decodeEntry(b []byte) (entry, error) {
	d := decoder{b: b}
	if v := d.byte(); d.err == nil && v != entryVersion {
		return entry{}, fmt.Errorf("decode entry: version %d: %w", v, ErrVersion)
	}
	ent := entry{token: d.uint(), seq: d.uint()}
	n := d.uint()
	if d.err == nil && n > uint64(len(d.b)) {
		d.fail("entry: command count")
	}
	if d.err != nil {
		return entry{}, d.err
	}
	ent.cmds = make([]Command, 0, n)
	for range n {
		c, err := DecodeCommand(d.bytes())
		if d.err != nil {
			return entry{}, d.err
		}
		if err != nil {
			return entry{}, err
		}
		ent.cmds = append(ent.cmds, c)
	}
	if err := d.end("entry"); err != nil {
		return entry{}, err
	}
	return ent, nil
}
