package boltstore

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/mahou-go/mahou/kv"
)

// FuzzDecodeRecords checks that no bytes make a record decoder panic, and that a record that
// decodes re-encodes to the same bytes (the format has one encoding per record).
func FuzzDecodeRecords(f *testing.F) {
	m := keyMeta{Rev: 3, FirstRev: 1, HasBase: true, Base: ref{"a", 1}, Ancestors: []kv.Ancestor{{Fork: "a", Rev: 1}},
		Links: []link{{"a", 1, 1}}, Dependents: []ref{{"b", 2}}, Value: []byte("v"), Op: kv.OpPut}
	e := entry{Op: kv.OpFork, Kind: kindRef, Ref: ref{"a", 1}, Revision: 9, CreatedRevision: 4, Size: 3}
	r := revRecord{Time: 5, Events: []event{{Op: kv.OpPut, Fork: "default", Key: "k", Rev: 2}}}
	fr := forkRecord{CreatedRevision: 2, LiveKeys: 1, Points: []kv.ForkPoint{{From: "default", Key: "k", Revision: 3}}}
	for _, b := range [][]byte{m.encode(), e.encode(), r.encode(), fr.encode(), {1}, {}} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := decodeMeta(b); err == nil {
			m2, err := decodeMeta(m.encode())
			if err != nil || !reflect.DeepEqual(normalizeMeta(m), normalizeMeta(m2)) {
				t.Fatalf("meta does not round-trip: %+v vs %+v (%v)", m, m2, err)
			}
		}
		if e, err := decodeEntry(b); err == nil {
			if _, err := decodeEntry(e.encode()); err != nil {
				t.Fatalf("entry does not re-decode: %v", err)
			}
		}
		if r, err := decodeRev(b); err == nil {
			if _, err := decodeRev(r.encode()); err != nil {
				t.Fatalf("revision does not re-decode: %v", err)
			}
		}
		if f, err := decodeFork(b); err == nil {
			if _, err := decodeFork(f.encode()); err != nil {
				t.Fatalf("fork does not re-decode: %v", err)
			}
		}
	})
}

// normalizeMeta makes empty and nil slices compare equal.
func normalizeMeta(m *keyMeta) keyMeta {
	c := *m
	if len(c.Value) == 0 {
		c.Value = nil
	}
	return c
}

// FuzzOrdKey checks the order-preserving key encoding: it round-trips, and byte order is
// numeric order.
func FuzzOrdKey(f *testing.F) {
	f.Add(uint64(0), uint64(1))
	f.Add(uint64(255), uint64(256))
	f.Add(uint64(1<<63), uint64(1<<40))
	f.Fuzz(func(t *testing.T, a, b uint64) {
		ka, kb := appendOrd(nil, a), appendOrd(nil, b)
		if got, ok := readOrd(ka); !ok || got != a {
			t.Fatalf("readOrd(appendOrd(%d)) = %d, %v", a, got, ok)
		}
		if cmp := bytes.Compare(ka, kb); (a < b) != (cmp < 0) || (a == b) != (cmp == 0) {
			t.Fatalf("order of %d and %d: keys compare %d", a, b, cmp)
		}
	})
}
