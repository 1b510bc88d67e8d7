package raftnode

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/mahou-go/mahou/kv"
)

func TestCodec_RoundTrip(t *testing.T) {
	now := time.Unix(1_700_000_000, 123456789)
	cmds := []kv.Command{
		kv.Put{Fork: "default", Key: "k", Value: []byte{0, 1, 0xff}, If: kv.Precondition{HasMatchRev: true, MatchRev: 3}},
		kv.Delete{Fork: "f", Key: "k", Purge: true},
		kv.Revert{Fork: "f", Key: "k", ToRev: 9},
		kv.Fork{From: "a", To: "b", IsPrefix: true, Prefix: "p/", Revision: 12, Force: true},
		kv.Merge{From: "a", To: "b", Key: "k", Strategy: kv.MergeTargetWins, RequireTarget: true},
		kv.Txn{Compare: []kv.Compare{{Fork: "default", Key: "k", Target: kv.CompareRev, Op: kv.CmpEqual, Number: 2}},
			Then: []kv.TxnOp{{Type: kv.TxnPut, Fork: "default", Key: "k", Value: []byte("v")}}},
		kv.Compact{Revision: 77},
		kv.SetRetention{Policy: kv.Retention{KeepRevs: 5, KeepDuration: time.Hour}},
		kv.ApplyRetention{},
	}
	for _, c := range cmds {
		b, err := encodeProposal(kv.Proposal{Time: now, Cmd: c})
		if err != nil {
			t.Fatalf("encode %T: %v", c, err)
		}
		p, err := decodeProposal(b)
		if err != nil {
			t.Fatalf("decode %T: %v", c, err)
		}
		if !p.Time.Equal(now) || !reflect.DeepEqual(p.Cmd, c) {
			t.Fatalf("round trip of %T: got %+v at %v, want %+v", c, p.Cmd, p.Time, c)
		}
	}
}

// FuzzDecodeProposal checks that no log entry makes the decoder panic, and that what decodes
// encodes back to something that decodes the same.
func FuzzDecodeProposal(f *testing.F) {
	seed, _ := encodeProposal(kv.Proposal{Time: time.Unix(1, 0), Cmd: kv.Put{Fork: "default", Key: "k", Value: []byte("v")}})
	f.Add(seed)
	f.Add([]byte{1, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeProposal(b)
		if err != nil {
			return
		}
		again, err := encodeProposal(p)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		p2, err := decodeProposal(again)
		if err != nil || !reflect.DeepEqual(p2.Cmd, p.Cmd) || !bytes.Equal(again[:10], b[:10]) {
			t.Fatalf("re-decode differs: %+v vs %+v (%v)", p2.Cmd, p.Cmd, err)
		}
	})
}

// FuzzResultWire checks the decoder of a forwarded command's result: no bytes make it panic,
// and what decodes turns into a result whose error is a domain error or nil.
func FuzzResultWire(f *testing.F) {
	for _, rw := range []resultWire{
		{Revision: 3, Rev: 1},
		{Err: toErrWire(&kv.PreconditionError{Exists: true, CurrentRev: 2})},
		{Err: toErrWire(&kv.ConflictError{Conflicts: []kv.Conflict{{Key: "k", HasBase: true}}})},
		{Err: toErrWire(kv.ErrNotFound)},
	} {
		b, _ := msgpack.Marshal(rw)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var rw resultWire
		if msgpack.Unmarshal(b, &rw) != nil {
			return
		}
		_ = rw.Err.toError()
	})
}

func TestErrWire_RoundTrip(t *testing.T) {
	for _, err := range []error{
		&kv.PreconditionError{Exists: true, CurrentRev: 2}, &kv.ConflictError{Conflicts: []kv.Conflict{{Key: "k"}}},
		&kv.ExistsError{Keys: []string{"a"}}, kv.Invalid("bad", "bad %d", 1), &kv.CompactedError{CompactedRevision: 9},
		kv.ErrNotFound, kv.ErrSourceNotFound, kv.ErrTargetNotFound, kv.ErrRevNotFound, kv.ErrFutureRevision,
	} {
		got := toErrWire(err).toError()
		if !reflect.DeepEqual(got, err) && got.Error() != err.Error() {
			t.Fatalf("%v came back as %v", err, got)
		}
	}
}
