package history_test

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"

	"github.com/mahou-go/mahou/kv/history"
)

func TestDelta_RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 4096)
	for i := range big {
		big[i] = byte(rng.IntN(256))
	}
	edited := bytes.Clone(big)
	edited[2000] ^= 0xff
	moved := append(bytes.Clone(big[2048:]), big[:2048]...)
	cases := []struct {
		name         string
		base, target []byte
	}{
		{"empty to empty", nil, nil},
		{"empty to value", nil, []byte("hello")},
		{"value to empty", []byte("hello"), nil},
		{"insert", []byte("hello world"), []byte("hello, world")},
		{"one byte edit of 4KiB", big, edited},
		{"moved halves", big, moved},
		{"unrelated", []byte("abcdefghijklmnopqrstuvwxyz0123456789"), []byte("ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210")},
		{"repeated blocks", bytes.Repeat([]byte("0123456789abcdef"), 64), bytes.Repeat([]byte("0123456789abcdef"), 65)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := history.Delta(c.base, c.target)
			got, err := history.Apply(c.base, d)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !bytes.Equal(got, c.target) {
				t.Fatalf("got %q, want %q", got, c.target)
			}
		})
	}
}

func TestDelta_Sizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	big := make([]byte, 4096)
	for i := range big {
		big[i] = byte(rng.IntN(256))
	}
	edited := bytes.Clone(big)
	edited[1234] ^= 1
	if n := len(history.Delta(big, edited)); n > 16 {
		t.Errorf("1-byte edit of 4 KiB: delta is %d bytes, want <= 16", n)
	}
	moved := append(bytes.Clone(big[2048:]), big[:2048]...)
	if n := len(history.Delta(big, moved)); n > 64 {
		t.Errorf("swapped halves of 4 KiB: delta is %d bytes, want <= 64", n)
	}
	want := []byte{1, 12, 10, 0, 3, ',', 12, 5}
	if got := history.Delta([]byte("hello world"), []byte("hello, world")); !bytes.Equal(got, want) {
		t.Errorf("doc example: got % x, want % x", got, want)
	}
}

func TestApply_Corrupt(t *testing.T) {
	base := []byte("hello world")
	cases := map[string][]byte{
		"empty":          {},
		"bad version":    {2, 0},
		"short":          {1, 5, 3, 'a'},
		"copy past base": {1, 5, 10, 20},
		"overrun target": {1, 1, 5, 'a', 'b'},
		"huge length":    {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	}
	for name, d := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := history.Apply(base, d); err == nil {
				t.Fatalf("Apply(% x) succeeded, want an error", d)
			}
		})
	}
}

func encodeScript(s []history.Edit) [][2]string {
	out := make([][2]string, len(s))
	for i, e := range s {
		out[i] = [2]string{e.Op.String(), base64.StdEncoding.EncodeToString(e.Data)}
	}
	return out
}

// The cases come from crush's own test suite (store_test.exs, api_controller_test.exs).
func TestScript_CrushCompatible(t *testing.T) {
	cases := []struct {
		from, to string
		want     [][2]string
	}{
		{"test 2", "test 1", [][2]string{{"eq", "dGVzdCA="}, {"del", "Mg=="}, {"ins", "MQ=="}}},
		{"value 2", "value", [][2]string{{"eq", "dmFsdWU="}, {"del", "IDI="}}},
		{"same", "same", [][2]string{{"eq", "c2FtZQ=="}}},
		{"", "new", [][2]string{{"ins", "bmV3"}}},
	}
	for _, c := range cases {
		got := encodeScript(history.Script([]byte(c.from), []byte(c.to)))
		if len(got) != len(c.want) {
			t.Fatalf("Script(%q, %q) = %v, want %v", c.from, c.to, got, c.want)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Fatalf("Script(%q, %q) = %v, want %v", c.from, c.to, got, c.want)
			}
		}
	}
}

func TestScript_BinaryRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 200; i++ {
		a := make([]byte, rng.IntN(300))
		for j := range a {
			a[j] = byte(rng.IntN(256))
		}
		b := bytes.Clone(a)
		for k := rng.IntN(5); k >= 0 && len(b) > 0; k-- {
			b[rng.IntN(len(b))] = byte(rng.IntN(256))
		}
		b = append(b, byte(rng.IntN(256)))
		got, err := history.ApplyScript(a, history.Script(a, b))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("round trip %d: got %x, %v; want %x", i, got, err, b)
		}
	}
}

func TestApplyScript_Mismatch(t *testing.T) {
	s := []history.Edit{{Op: history.Eq, Data: []byte("nope")}}
	if _, err := history.ApplyScript([]byte("test"), s); err == nil {
		t.Fatal("ApplyScript of a mismatching script succeeded, want an error")
	}
}
