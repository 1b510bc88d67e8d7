package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/mahou-go/mahou/kv"
)

// recordVersion is the first byte of every record this package writes.
const recordVersion = 1

// errCorrupt marks a record that does not decode; the store refuses to guess.
var errCorrupt = errors.New("corrupt record")

// entry kinds: how one rev's value is stored.
const (
	kindKeyframe uint8 = 0 // the value itself
	kindDelta    uint8 = 1 // a history.Delta from the previous rev's value
	kindRef      uint8 = 2 // the value of another fork's rev (a fork point)
	kindEmpty    uint8 = 3 // a tombstone: no value
)

// ref names a rev of the same key in another fork.
type ref struct {
	Fork string
	Rev  uint64
}

// link is a merge sync point with the same key in another fork: this key's MyRev and the other
// key's TheirRev were merged or forked from one another. Both revs are kept through compaction.
type link struct {
	Fork     string
	TheirRev uint64
	MyRev    uint64
}

// keyMeta is the current state of one (fork, key), stored in the keys bucket.
type keyMeta struct {
	Deleted bool
	// Rev is the current rev; FirstRev the lowest rev still stored in this key's own history.
	Rev      uint64
	FirstRev uint64
	// CreatedRevision and ModRevision are store revisions of the current incarnation.
	CreatedRevision int64
	ModRevision     int64
	Op              kv.Op
	// Depth is the rebuild cost of the current rev in delta steps; ChainBytes the delta bytes
	// written since the last keyframe. Both decide when the next rev is stored whole.
	Depth      uint64
	ChainBytes uint64
	// Base, when HasBase, holds the revs below FirstRev: they are Base.Fork's revs.
	HasBase bool
	Base    ref
	// Ancestors are the current rev's ancestors, newest first.
	Ancestors []kv.Ancestor
	// Links are merge sync points, one per other fork, sorted by fork.
	Links []link
	// Dependents are forks whose history refers to this key's revs (fork points), sorted.
	Dependents []ref
	// Trimmed is set once compaction dropped some of this key's own revs.
	Trimmed bool
	// ValueRef, when set, means the current value is Current's referenced rev, not Value.
	ValueRef bool
	Current  ref
	Value    []byte
}

// entry is one rev in a key's history, stored in the hist bucket.
type entry struct {
	Op      kv.Op
	Deleted bool
	Kind    uint8
	// Revision wrote this rev; CreatedRevision is the revision its incarnation was created at.
	Revision        int64
	CreatedRevision int64
	Size            uint64
	Depth           uint64
	Ancestors       []kv.Ancestor
	// Ref is set for kindRef; Data holds the keyframe or delta bytes.
	Ref  ref
	Data []byte
}

// event is one key change inside a revision record.
type event struct {
	Op      kv.Op
	Deleted bool
	// Purged marks the erasure of a key's whole history.
	Purged bool
	Fork   string
	Key    string
	Rev    uint64
}

// revRecord is everything that happened at one store revision, stored in the revs bucket.
type revRecord struct {
	// Time is the leader-stamped time, Unix nanoseconds, never decreasing.
	Time   int64
	Events []event
}

// forkRecord describes one fork, stored in the forks bucket.
type forkRecord struct {
	CreatedRevision int64
	LiveKeys        uint64
	Points          []kv.ForkPoint
}

const (
	metaDeleted  = 1 << 0
	metaHasBase  = 1 << 1
	metaValueRef = 1 << 2
	metaTrimmed  = 1 << 3
)

func (m *keyMeta) encode() []byte {
	b := make([]byte, 0, 48+len(m.Value))
	b = append(b, recordVersion)
	var flags byte
	if m.Deleted {
		flags |= metaDeleted
	}
	if m.HasBase {
		flags |= metaHasBase
	}
	if m.ValueRef {
		flags |= metaValueRef
	}
	if m.Trimmed {
		flags |= metaTrimmed
	}
	b = append(b, flags, byte(m.Op))
	b = binary.AppendUvarint(b, m.Rev)
	b = binary.AppendUvarint(b, m.FirstRev)
	b = binary.AppendUvarint(b, uint64(m.CreatedRevision))
	b = binary.AppendUvarint(b, uint64(m.ModRevision))
	b = binary.AppendUvarint(b, m.Depth)
	b = binary.AppendUvarint(b, m.ChainBytes)
	if m.HasBase {
		b = appendRef(b, m.Base)
	}
	b = appendAncestors(b, m.Ancestors)
	b = binary.AppendUvarint(b, uint64(len(m.Links)))
	for _, l := range m.Links {
		b = appendString(b, l.Fork)
		b = binary.AppendUvarint(b, l.TheirRev)
		b = binary.AppendUvarint(b, l.MyRev)
	}
	b = binary.AppendUvarint(b, uint64(len(m.Dependents)))
	for _, d := range m.Dependents {
		b = appendRef(b, d)
	}
	if m.ValueRef {
		return appendRef(b, m.Current)
	}
	return appendBytes(b, m.Value)
}

func decodeMeta(b []byte) (*keyMeta, error) {
	d := decoder{b: b}
	if d.byte() != recordVersion {
		return nil, fmt.Errorf("decode key meta: %w: unknown version", errCorrupt)
	}
	flags := d.byte()
	m := &keyMeta{
		Deleted:  flags&metaDeleted != 0,
		HasBase:  flags&metaHasBase != 0,
		ValueRef: flags&metaValueRef != 0,
		Trimmed:  flags&metaTrimmed != 0,
	}
	m.Op = kv.Op(d.byte())
	m.Rev = d.uvarint()
	m.FirstRev = d.uvarint()
	m.CreatedRevision = d.int64()
	m.ModRevision = d.int64()
	m.Depth = d.uvarint()
	m.ChainBytes = d.uvarint()
	if m.HasBase {
		m.Base = d.ref()
	}
	m.Ancestors = d.ancestors()
	if n := d.count(3); n > 0 {
		m.Links = make([]link, n)
		for i := range m.Links {
			m.Links[i] = link{Fork: d.string(), TheirRev: d.uvarint(), MyRev: d.uvarint()}
		}
	}
	if n := d.count(2); n > 0 {
		m.Dependents = make([]ref, n)
		for i := range m.Dependents {
			m.Dependents[i] = d.ref()
		}
	}
	if m.ValueRef {
		m.Current = d.ref()
	} else {
		m.Value = d.bytes()
	}
	if err := d.done("key meta"); err != nil {
		return nil, err
	}
	return m, nil
}

const entryDeleted = 1 << 2 // the low two bits of the flags byte hold the kind

func (e *entry) encode() []byte {
	b := make([]byte, 0, 16+len(e.Data))
	b = append(b, recordVersion, byte(e.Op))
	flags := e.Kind & 3
	if e.Deleted {
		flags |= entryDeleted
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(e.Revision))
	b = binary.AppendUvarint(b, uint64(e.Revision-e.CreatedRevision))
	b = binary.AppendUvarint(b, e.Size)
	b = binary.AppendUvarint(b, e.Depth)
	b = appendAncestors(b, e.Ancestors)
	if e.Kind == kindRef {
		return appendRef(b, e.Ref)
	}
	return append(b, e.Data...)
}

func decodeEntry(b []byte) (*entry, error) {
	d := decoder{b: b}
	if d.byte() != recordVersion {
		return nil, fmt.Errorf("decode entry: %w: unknown version", errCorrupt)
	}
	e := &entry{Op: kv.Op(d.byte())}
	flags := d.byte()
	e.Kind = flags & 3
	e.Deleted = flags&entryDeleted != 0
	e.Revision = d.int64()
	e.CreatedRevision = e.Revision - d.int64()
	e.Size = d.uvarint()
	e.Depth = d.uvarint()
	e.Ancestors = d.ancestors()
	if e.Kind == kindRef {
		e.Ref = d.ref()
		if err := d.done("entry"); err != nil {
			return nil, err
		}
	} else {
		e.Data = d.rest()
	}
	if d.err != nil {
		return nil, fmt.Errorf("decode entry: %w", d.err)
	}
	return e, nil
}

func (r *revRecord) encode() []byte {
	b := make([]byte, 0, 16+len(r.Events)*24)
	b = append(b, recordVersion)
	b = binary.AppendVarint(b, r.Time)
	b = binary.AppendUvarint(b, uint64(len(r.Events)))
	for _, e := range r.Events {
		var flags byte
		if e.Deleted {
			flags |= 1
		}
		if e.Purged {
			flags |= 2
		}
		b = append(b, byte(e.Op), flags)
		b = appendString(b, e.Fork)
		b = appendString(b, e.Key)
		b = binary.AppendUvarint(b, e.Rev)
	}
	return b
}

// decodeRevTime reads only the time of a revision record.
func decodeRevTime(b []byte) (int64, error) {
	if len(b) < 2 || b[0] != recordVersion {
		return 0, fmt.Errorf("decode revision: %w: unknown version", errCorrupt)
	}
	t, n := binary.Varint(b[1:])
	if n <= 0 {
		return 0, fmt.Errorf("decode revision: %w: bad time", errCorrupt)
	}
	return t, nil
}

func decodeRev(b []byte) (*revRecord, error) {
	d := decoder{b: b}
	if d.byte() != recordVersion {
		return nil, fmt.Errorf("decode revision: %w: unknown version", errCorrupt)
	}
	r := &revRecord{Time: d.varint()}
	n := d.count(5)
	r.Events = make([]event, n)
	for i := range r.Events {
		op, flags := kv.Op(d.byte()), d.byte()
		r.Events[i] = event{Op: op, Deleted: flags&1 != 0, Purged: flags&2 != 0, Fork: d.string(), Key: d.string(), Rev: d.uvarint()}
	}
	if err := d.done("revision"); err != nil {
		return nil, err
	}
	return r, nil
}

func (f *forkRecord) encode() []byte {
	b := []byte{recordVersion}
	b = binary.AppendUvarint(b, uint64(f.CreatedRevision))
	b = binary.AppendUvarint(b, f.LiveKeys)
	b = binary.AppendUvarint(b, uint64(len(f.Points)))
	for _, p := range f.Points {
		b = appendString(b, p.From)
		if p.IsPrefix {
			b = append(b, 1)
			b = appendString(b, p.Prefix)
		} else {
			b = append(b, 0)
			b = appendString(b, p.Key)
		}
		b = binary.AppendUvarint(b, uint64(p.FromRevision))
		b = binary.AppendUvarint(b, uint64(p.Revision))
	}
	return b
}

func decodeFork(b []byte) (*forkRecord, error) {
	d := decoder{b: b}
	if d.byte() != recordVersion {
		return nil, fmt.Errorf("decode fork: %w: unknown version", errCorrupt)
	}
	f := &forkRecord{CreatedRevision: d.int64(), LiveKeys: d.uvarint()}
	n := d.count(4)
	f.Points = make([]kv.ForkPoint, n)
	for i := range f.Points {
		p := kv.ForkPoint{From: d.string()}
		if d.byte() == 1 {
			p.IsPrefix, p.Prefix = true, d.string()
		} else {
			p.Key = d.string()
		}
		p.FromRevision, p.Revision = d.int64(), d.int64()
		f.Points[i] = p
	}
	if err := d.done("fork"); err != nil {
		return nil, err
	}
	return f, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendRef(b []byte, r ref) []byte {
	b = appendString(b, r.Fork)
	return binary.AppendUvarint(b, r.Rev)
}

func appendAncestors(b []byte, as []kv.Ancestor) []byte {
	b = binary.AppendUvarint(b, uint64(len(as)))
	for _, a := range as {
		b = appendString(b, a.Fork)
		b = binary.AppendUvarint(b, a.Rev)
	}
	return b
}

// decoder reads varint-framed fields and remembers the first error, so decoding code reads as a
// list of fields; every length is checked against what is left.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", errCorrupt, what)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail("byte")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int64() int64 {
	v := d.uvarint()
	if v > math.MaxInt64 {
		d.fail("revision")
		return 0
	}
	return int64(v)
}

// count reads a collection length, each element needing at least minSize bytes.
func (d *decoder) count(minSize int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/minSize) {
		d.fail("count")
		return 0
	}
	return int(n)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) rest() []byte {
	v := d.b
	d.b = nil
	return v
}

func (d *decoder) ref() ref { return ref{Fork: d.string(), Rev: d.uvarint()} }

func (d *decoder) ancestors() []kv.Ancestor {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	as := make([]kv.Ancestor, n)
	for i := range as {
		as[i] = kv.Ancestor{Fork: d.string(), Rev: d.uvarint()}
	}
	return as
}

func (d *decoder) done(what string) error {
	if d.err != nil {
		return fmt.Errorf("decode %s: %w", what, d.err)
	}
	if len(d.b) != 0 {
		return fmt.Errorf("decode %s: %w: %d trailing bytes", what, errCorrupt, len(d.b))
	}
	return nil
}
