package history_test

import (
	"bytes"
	"testing"

	"github.com/mahou-go/mahou/kv/history"
)

// FuzzDelta checks that any pair of byte strings round-trips through the delta codec.
func FuzzDelta(f *testing.F) {
	f.Add([]byte("hello world"), []byte("hello, world"))
	f.Add([]byte{}, []byte{0, 1, 2})
	f.Add(bytes.Repeat([]byte("0123456789abcdef"), 8), bytes.Repeat([]byte("0123456789abcdef"), 9))
	f.Fuzz(func(t *testing.T, base, target []byte) {
		d := history.Delta(base, target)
		got, err := history.Apply(base, d)
		if err != nil {
			t.Fatalf("Apply(Delta): %v", err)
		}
		if !bytes.Equal(got, target) {
			t.Fatalf("round trip: got %x, want %x", got, target)
		}
	})
}

// FuzzApply checks that Apply never panics or over-allocates on arbitrary input.
func FuzzApply(f *testing.F) {
	f.Add([]byte("hello world"), history.Delta([]byte("hello world"), []byte("hello, world")))
	f.Add([]byte{}, []byte{1, 0})
	f.Fuzz(func(t *testing.T, base, delta []byte) {
		out, err := history.Apply(base, delta)
		// every copy op costs at least two delta bytes and copies at most the whole base
		if err == nil && len(out) > len(delta)/2*len(base)+len(delta) {
			t.Fatalf("Apply produced %d bytes from a %d-byte delta", len(out), len(delta))
		}
	})
}

// FuzzScript checks that edit scripts rebuild the target exactly for any bytes.
func FuzzScript(f *testing.F) {
	f.Add([]byte("test 2"), []byte("test 1"))
	f.Add([]byte{0xff, 0xfe}, []byte{0xfe})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		got, err := history.ApplyScript(a, history.Script(a, b))
		if err != nil {
			t.Fatalf("ApplyScript(Script): %v", err)
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("round trip: got %x, want %x", got, b)
		}
	})
}
