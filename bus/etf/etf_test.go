package etf_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/mahou-go/mahou/bus/etf"
)

// vector is one line of testdata/vectors.txt, produced by a real Erlang with gen.escript.
type vector struct {
	name    string
	dflt    []byte // term_to_binary(T)
	minorV2 []byte // term_to_binary(T, [{minor_version, 2}])
}

func loadVectors(tb testing.TB) map[string]vector {
	tb.Helper()
	f, err := os.Open("testdata/vectors.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	out := map[string]vector{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) != 3 {
			tb.Fatalf("bad vector line %q", line)
		}
		a, err1 := hex.DecodeString(parts[1])
		b, err2 := hex.DecodeString(parts[2])
		if err1 != nil || err2 != nil {
			tb.Fatalf("bad hex in %s", parts[0])
		}
		out[parts[0]] = vector{name: parts[0], dflt: a, minorV2: b}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

const ts = int64(1700000000000)

// encodable are vectors whose Go value encodes to exactly Erlang's minor_version 2 bytes.
var encodable = map[string]any{
	"hello":         etf.Struct{{"op", 0}, {"d", map[string]any{"heartbeat_interval": int64(45000)}}, {"t", nil}, {"ts", ts}},
	"ready":         etf.Struct{{"op", 2}, {"d", map[string]any{"client_id": "c1", "restricted": false}}, {"t", nil}, {"ts", ts}},
	"heartbeat_ack": etf.Struct{{"op", 6}, {"d", map[string]any{"client_id": "c1"}}, {"t", nil}, {"ts", ts}},
	"goodbye":       etf.Struct{{"op", 7}, {"d", map[string]any{"reason": "load balancing"}}, {"t", nil}, {"ts", ts}},
	"dispatch_send": etf.Struct{{"op", 4}, {"t", "SEND"}, {"ts", ts}, {"d", etf.Struct{
		{"target", nil}, {"nonce", "n-1"},
		{"payload", map[string]any{
			"list":   []any{int64(1), 2.5, "x", nil, true},
			"nested": map[string]any{"k": map[string]any{}},
		}},
	}}},
	"client_connected": etf.Struct{{"op", 4}, {"t", "CLIENT_CONNECTED"}, {"ts", ts}, {"d", etf.Struct{
		{"target", nil}, {"nonce", nil}, {"payload", map[string]any{"app": "my-app"}},
	}}},
	"invalid_no_route": etf.Struct{{"op", 3}, {"t", nil}, {"ts", ts}, {"d", etf.Struct{
		{"error", etf.Atom("no_route")},
		{"extra_info", etf.Struct{{"op", 4}, {"t", "SEND"}, {"ts", nil}, {"d", map[string]any{
			"target": map[string]any{"application": "x"}, "payload": map[string]any{},
		}}}},
	}}},
	"error_op8": etf.Struct{{"op", 8}, {"t", nil}, {"ts", ts}, {"d", etf.Struct{
		{"error", "heartbeat took too long"}, {"extra_info", nil},
	}}},
	"identify": etf.Struct{{"op", 1}, {"d", map[string]any{
		"client_id": "c1", "application_id": "app", "auth": nil, "ip": nil,
		"metadata": map[string]any{
			"latency": map[string]any{"type": "integer", "value": int64(7)},
			"ratio":   map[string]any{"type": "float", "value": 0.25},
		},
	}}},
	"client_send": etf.Struct{{"op", 4}, {"t", "SEND"}, {"d", map[string]any{
		"target": map[string]any{
			"application": "app",
			"ops": []any{map[string]any{
				"path": "/latency", "op": "$lte", "to": map[string]any{"value": int64(100)},
			}},
			"selector": nil,
		},
		"nonce": nil, "payload": "hi",
	}}},
	"client_heartbeat": etf.Struct{{"op", 5}, {"d", map[string]any{"client_id": "c1"}}},
	"int_0":            int64(0),
	"int_255":          int64(255),
	"int_256":          int64(256),
	"int_neg1":         int64(-1),
	"int_max32":        int64(math.MaxInt32),
	"int_min32":        int64(math.MinInt32),
	"int_2p31":         int64(1 << 31),
	"int_2p62":         int64(1 << 62),
	"int_min64":        int64(math.MinInt64),
	"int_max64":        int64(math.MaxInt64),
	"float_1":          1.0,
	"float_neg_half":   -0.5,
	"float_big":        1.0e300,
	"atom_nil":         nil,
	"atom_true":        true,
	"atom_false":       false,
	"atom_ok":          etf.Atom("ok"),
	"atom_utf8":        etf.Atom("héllo"),
	"binary_empty":     "",
	"binary_utf8":      "héllo 신경",
	"list_empty":       []any{},
	"list_mixed":       []any{int64(1), "two", 3.0, []any{int64(4)}, map[string]any{"five": int64(5)}},
	"map_empty":        map[string]any{},
	"map_atom_keys":    etf.Struct{{"a", int64(1)}, {"b", "x"}},
	"map_nested": map[string]any{"a": map[string]any{"b": map[string]any{
		"c": []any{int64(1), int64(2), map[string]any{"d": nil}},
	}}},
}

// decodeOnly are vectors with no exact Go encoding: their decoded value.
var decodeOnly = map[string]any{
	"int_2p64":        float64(1 << 64),
	"charlist":        []any{int64('a'), int64('b'), int64('c')},
	"list_long":       seq(1, 300),
	"tuple_small":     []any{int64(1), "a"},
	"compressed_list": repeat("compress me", 200),
}

func seq(from, to int64) []any {
	var l []any
	for i := from; i <= to; i++ {
		l = append(l, i)
	}
	return l
}

func repeat(s string, n int) []any {
	l := make([]any, n)
	for i := range l {
		l[i] = s
	}
	return l
}

// plain is what the decoder returns for an encodable value: atoms as strings, structs as maps,
// ints as int64.
func plain(v any) any {
	switch x := v.(type) {
	case etf.Atom:
		return string(x)
	case int:
		return int64(x)
	case etf.Struct:
		m := map[string]any{}
		for _, f := range x {
			m[f.Key] = plain(f.Value)
		}
		return m
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = plain(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = plain(e)
		}
		return l
	}
	return v
}

func TestVectors_Complete(t *testing.T) {
	vs := loadVectors(t)
	for name := range vs {
		_, a := encodable[name]
		_, b := decodeOnly[name]
		if !a && !b {
			t.Errorf("vector %s has no expectation", name)
		}
	}
	for name := range encodable {
		if _, ok := vs[name]; !ok {
			t.Errorf("expectation %s has no vector", name)
		}
	}
}

func TestEncode_MatchesErlang(t *testing.T) {
	vs := loadVectors(t)
	for name, v := range encodable {
		t.Run(name, func(t *testing.T) {
			got, err := etf.Encode(v)
			if err != nil {
				t.Fatal(err)
			}
			if want := vs[name].minorV2; !bytes.Equal(got, want) {
				t.Errorf("got  %x\nwant %x", got, want)
			}
		})
	}
}

func TestDecode_ErlangVectors(t *testing.T) {
	vs := loadVectors(t)
	check := func(t *testing.T, name string, want any) {
		for _, form := range []struct {
			label string
			b     []byte
		}{{"default", vs[name].dflt}, {"minor_version_2", vs[name].minorV2}} {
			got, err := etf.Decode(form.b, etf.DecodeOptions{})
			if err != nil {
				t.Fatalf("%s: %v", form.label, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: got %#v, want %#v", form.label, got, want)
			}
		}
	}
	for name, v := range encodable {
		t.Run(name, func(t *testing.T) { check(t, name, plain(v)) })
	}
	for name, want := range decodeOnly {
		t.Run(name, func(t *testing.T) { check(t, name, want) })
	}
}

func TestDecode_Errors(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, etf.ErrVersion},
		{"no version", []byte{97, 1}, etf.ErrVersion},
		{"truncated int", []byte{131, 98, 0, 0}, etf.ErrTruncated},
		{"truncated binary", []byte{131, 109, 0, 0, 0, 9, 'a'}, etf.ErrTruncated},
		{"huge list length", []byte{131, 108, 0xff, 0xff, 0xff, 0xff}, etf.ErrTruncated},
		{"huge map arity", []byte{131, 116, 0xff, 0xff, 0xff, 0xff}, etf.ErrTruncated},
		{"pid", []byte{131, 88, 119, 1, 'a', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, etf.ErrUnsupported},
		{"improper list", []byte{131, 108, 0, 0, 0, 1, 97, 1, 97, 2}, etf.ErrUnsupported},
		{"integer key", []byte{131, 116, 0, 0, 0, 1, 97, 1, 97, 2}, etf.ErrKeyType},
		{"trailing", []byte{131, 97, 1, 0}, etf.ErrTrailing},
		{"bad compressed", []byte{131, 80, 0, 0, 0, 5, 1, 2, 3}, etf.ErrUnsupported},
		{"compressed too large", []byte{131, 80, 0x7f, 0, 0, 0, 1, 2, 3}, etf.ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := etf.Decode(tc.in, etf.DecodeOptions{})
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecode_DepthLimit(t *testing.T) {
	deep := []byte{131}
	for range 100 {
		deep = append(deep, 108, 0, 0, 0, 1)
	}
	deep = append(deep, 106)
	for range 100 {
		deep = append(deep, 106)
	}
	if _, err := etf.Decode(deep, etf.DecodeOptions{MaxDepth: 50}); !errors.Is(err, etf.ErrTooDeep) {
		t.Errorf("got %v, want ErrTooDeep", err)
	}
	if _, err := etf.Decode(deep, etf.DecodeOptions{MaxDepth: 200}); err != nil {
		t.Errorf("got %v, want nil at depth 100 with limit 200", err)
	}
}

func TestEncode_Unsupported(t *testing.T) {
	if _, err := etf.Encode(struct{}{}); !errors.Is(err, etf.ErrEncode) {
		t.Errorf("got %v, want ErrEncode", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.dflt)
		f.Add(v.minorV2)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := etf.Decode(data, etf.DecodeOptions{MaxSize: 1 << 20})
		if err != nil {
			return
		}
		// Whatever decodes must encode, and decode again to the same value.
		b, err := etf.Encode(v)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", v, err)
		}
		again, err := etf.Decode(b, etf.DecodeOptions{})
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(normNaN(v), normNaN(again)) {
			t.Fatalf("round trip: got %#v, want %#v", again, v)
		}
	})
}

// normNaN replaces NaNs, which are never equal to themselves, by a marker.
func normNaN(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) {
			return "NaN"
		}
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = normNaN(e)
		}
		return l
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = normNaN(e)
		}
		return m
	}
	return v
}
