package wire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/mahou-go/mahou/bus/etf"
	"github.com/mahou-go/mahou/bus/wire"
)

var sample = map[string]any{
	"op": int64(4), "t": "SEND",
	"d": map[string]any{
		"target":  map[string]any{"application": "app", "ops": []any{}},
		"payload": map[string]any{"int": int64(1), "float": 1.0, "neg": -2.5, "s": "héllo \"q\"\n", "l": []any{nil, true, false}},
		"nonce":   nil,
	},
}

func TestRoundTrip_AllEncodings(t *testing.T) {
	for _, enc := range []wire.Encoding{wire.JSON, wire.Msgpack, wire.ETF} {
		t.Run(string(enc), func(t *testing.T) {
			b, err := wire.Encode(enc, sample)
			if err != nil {
				t.Fatal(err)
			}
			got, err := wire.Decode(enc, b, wire.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, sample) {
				t.Errorf("got %#v, want %#v", got, sample)
			}
		})
	}
}

func TestDecodeJSON_NumberTyping(t *testing.T) {
	cases := map[string]any{
		`1`: int64(1), `1.0`: 1.0, `-0`: int64(0), `1e3`: 1000.0, `1E3`: 1000.0, `0.5`: 0.5,
		`9223372036854775807`: int64(math.MaxInt64), `9223372036854775808`: 9223372036854775808.0,
	}
	for in, want := range cases {
		got, err := wire.Decode(wire.JSON, []byte(in), wire.Limits{})
		if err != nil || got != want {
			t.Errorf("%s: got %#v, %v; want %#v", in, got, err, want)
		}
	}
}

func TestEncodeJSON_FloatsStayFloats(t *testing.T) {
	cases := map[float64]string{1: "1.0", 0.25: "0.25", -3: "-3.0", 1e21: "1e+21", 1e-7: "1e-07", 0: "0.0"}
	for in, want := range cases {
		b, err := wire.Encode(wire.JSON, in)
		if err != nil || string(b) != want {
			t.Errorf("%v: got %s, %v; want %s", in, b, err, want)
		}
	}
	b, _ := wire.Encode(wire.JSON, math.NaN())
	if string(b) != "null" {
		t.Errorf("NaN: got %s, want null", b)
	}
}

func TestEncodeJSON_Strings(t *testing.T) {
	b, err := wire.Encode(wire.JSON, "a\"b\\c\x01\t\xff신")
	if err != nil {
		t.Fatal(err)
	}
	if want := `"a\"b\\c\u0001\t\ufffd신"`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

func TestDecodeJSON_ErrorTexts(t *testing.T) {
	cases := map[string]string{
		"x":             `unexpected byte at position 0: 0x78 ("x")`,
		"":              "unexpected end of input at position 0",
		`{"a":`:         "unexpected end of input at position 5",
		`{} x`:          `unexpected byte at position 3: 0x78 ("x")`,
		"[1,\x01]":      "unexpected byte at position 3: 0x1 (<<1>>)",
		`1e999`:         "number out of range: 1e999",
		`{"a":1}}`:      `unexpected byte at position 7: 0x7D ("}")`,
		"\xab":          "unexpected byte at position 0: 0xAB (<<171>>)",
		`[[[[[[1]]]]]]`: "nesting deeper than 3 levels",
	}
	for in, want := range cases {
		_, err := wire.Decode(wire.JSON, []byte(in), wire.Limits{MaxDepth: 3})
		if err == nil || err.Error() != want || !errors.Is(err, wire.ErrDecode) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
}

func TestDecodeMsgpack_Typing(t *testing.T) {
	b, _ := msgpack.Marshal(map[string]any{"i": 1, "f": 1.0, "f32": float32(0.5), "u": uint64(math.MaxUint64), "bin": []byte("raw")})
	got, err := wire.Decode(wire.Msgpack, b, wire.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"i": int64(1), "f": 1.0, "f32": 0.5, "u": float64(math.MaxUint64), "bin": "raw"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestDecodeMsgpack_Errors(t *testing.T) {
	cases := map[string]struct {
		in   []byte
		want string
	}{
		"empty":      {nil, "given binary is incomplete"},
		"truncated":  {[]byte{0x92, 0x01}, "given binary is incomplete"},
		"excess":     {[]byte{0x01, 0x02}, "found excess bytes"},
		"reserved":   {[]byte{0xc1}, "invalid format, first byte: 193"},
		"ext":        {[]byte{0xd4, 0x01, 0x00}, "unsupported extension type, first byte: 212"},
		"int key":    {[]byte{0x81, 0x01, 0x02}, "map keys must be strings, first byte: 1"},
		"huge str":   {[]byte{0xdb, 0xff, 0xff, 0xff, 0xff}, "given binary is incomplete"},
		"huge array": {[]byte{0xdd, 0xff, 0xff, 0xff, 0xff}, "given binary is incomplete"},
		"huge map":   {[]byte{0xdf, 0xff, 0xff, 0xff, 0xff}, "given binary is incomplete"},
		"too deep":   {[]byte{0x91, 0x91, 0x91, 0x91, 0x91, 0x01}, "nesting deeper than 3 levels"},
	}
	for name, tc := range cases {
		_, err := wire.Decode(wire.Msgpack, tc.in, wire.Limits{MaxDepth: 3})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
}

func TestEncodeFrame_NullT(t *testing.T) {
	b, err := wire.EncodeFrame(wire.JSON, wire.Frame{Op: 0, D: map[string]any{"heartbeat_interval": int64(45000)}, TS: 7})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"d":{"heartbeat_interval":45000},"op":0,"t":null,"ts":7}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	b, _ = wire.EncodeFrame(wire.Msgpack, wire.Frame{Op: 4, T: "SEND", D: etf.Struct{{Key: "error", Value: etf.Atom("no_route")}}})
	got, _ := wire.Decode(wire.Msgpack, b, wire.Limits{})
	want := map[string]any{"op": int64(4), "t": "SEND", "ts": int64(0), "d": map[string]any{"error": "no_route"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestParseEncoding(t *testing.T) {
	for in, want := range map[string]wire.Encoding{"": wire.JSON, "json": wire.JSON, "msgpack": wire.Msgpack, "etf": wire.ETF} {
		if got, ok := wire.ParseEncoding(in); !ok || got != want {
			t.Errorf("%q: got %v %v, want %v", in, got, ok, want)
		}
	}
	if _, ok := wire.ParseEncoding("xml"); ok {
		t.Error("xml: got ok, want refused")
	}
}

// fuzzRoundTrip checks that a decoded value encodes and decodes back to itself.
func fuzzRoundTrip(t *testing.T, enc wire.Encoding, data []byte) {
	v, err := wire.Decode(enc, data, wire.Limits{MaxSize: 1 << 20})
	if err != nil {
		if !errors.Is(err, wire.ErrDecode) {
			t.Fatalf("error %v does not wrap ErrDecode", err)
		}
		return
	}
	b, err := wire.Encode(enc, v)
	if err != nil {
		t.Fatalf("decoded %#v does not encode: %v", v, err)
	}
	again, err := wire.Decode(enc, b, wire.Limits{})
	if err != nil {
		t.Fatalf("re-decode of %q: %v", b, err)
	}
	if !reflect.DeepEqual(clean(enc, v), clean(enc, again)) {
		t.Fatalf("round trip: got %#v, want %#v", again, v)
	}
}

// clean replaces what cannot round trip by design: NaN (never equal to itself, null in JSON)
// and, in JSON only, invalid UTF-8 in strings (replaced by U+FFFD). msgpack keeps a string's
// bytes as they are, so its keys stay apart even when two are invalid UTF-8.
func clean(enc wire.Encoding, v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "NaN"
		}
	case string:
		if enc == wire.JSON {
			return strings.ToValidUTF8(x, "\uFFFD")
		}
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = clean(enc, e)
		}
		return l
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			if enc == wire.JSON {
				k = strings.ToValidUTF8(k, "\uFFFD")
			}
			m[k] = clean(enc, e)
		}
		return m
	}
	return v
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"op":1,"d":{"client_id":"c","application_id":"a"}}`, `{"op":5}`, `[1,2.5,"x",null,true]`,
		`{"op":4,"t":"SEND","d":{"target":{"application":"a","ops":[{"path":"/x","op":"$eq","to":{"value":1}}]},"payload":{}}}`,
		`"\u00e9\ud83d\ude00"`, `1e308`, `-0.0`, `{"a":{"b":{"c":[[[]]]}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip(t, wire.JSON, data)
		differentialJSON(t, data)
	})
}

// differentialJSON checks the decoder against encoding/json on valid UTF-8 input: both accept
// or both refuse, and what both accept decodes to the same value.
func differentialJSON(t *testing.T, data []byte) {
	if !utf8.Valid(data) {
		return
	}
	got, err := wire.Decode(wire.JSON, data, wire.Limits{MaxDepth: 20000})
	var ref any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	refErr := dec.Decode(&ref)
	if refErr == nil {
		var extra any
		if dec.Decode(&extra) != io.EOF {
			refErr = errors.New("trailing data")
		}
	}
	if err != nil && strings.HasPrefix(err.Error(), "number out of range") {
		return
	}
	if (err == nil) != (refErr == nil) {
		t.Fatalf("%q: ours %v, encoding/json %v", data, err, refErr)
	}
	if err == nil && !reflect.DeepEqual(got, refModel(ref)) {
		t.Fatalf("%q: ours %#v, encoding/json %#v", data, got, refModel(ref))
	}
}

func refModel(v any) any {
	switch x := v.(type) {
	case json.Number:
		if !strings.ContainsAny(string(x), ".eE") {
			if i, err := x.Int64(); err == nil {
				return i
			}
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i, e := range x {
			x[i] = refModel(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = refModel(e)
		}
	}
	return v
}

func FuzzDecodeMsgpack(f *testing.F) {
	for _, v := range []any{sample, map[string]any{"op": 5}, []any{1, 2.5, "x", nil, true, uint64(math.MaxUint64)}} {
		b, _ := msgpack.Marshal(v)
		f.Add(b)
	}
	f.Add([]byte{0xc4, 0x03, 'a', 'b', 'c'})
	f.Add([]byte{0xca, 0x3f, 0x80, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRoundTrip(t, wire.Msgpack, data) })
}

func FuzzDecodeETF(f *testing.F) {
	b, _ := wire.Encode(wire.ETF, sample)
	f.Add(b)
	f.Add([]byte{131, 116, 0, 0, 0, 1, 100, 0, 2, 'o', 'p', 97, 1})
	f.Add([]byte{131, 110, 8, 0, 0, 0, 0, 0, 0, 0, 0, 128})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRoundTrip(t, wire.ETF, data) })
}

// TestDecode_EveryPrefix feeds every strict prefix of a valid frame, as a split read would
// deliver it, and checks each is refused with a decode error, never accepted or a panic.
func TestDecode_EveryPrefix(t *testing.T) {
	for _, enc := range []wire.Encoding{wire.JSON, wire.Msgpack, wire.ETF} {
		full, err := wire.Encode(enc, sample)
		if err != nil {
			t.Fatal(err)
		}
		for n := range len(full) {
			if _, err := wire.Decode(enc, full[:n], wire.Limits{}); !errors.Is(err, wire.ErrDecode) {
				t.Errorf("%s: prefix of %d/%d bytes: got %v, want a decode error", enc, n, len(full), err)
			}
		}
		if _, err := wire.Decode(enc, full, wire.Limits{}); err != nil {
			t.Errorf("%s: full frame: %v", enc, err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	frame := wire.Frame{Op: 4, T: "SEND", TS: 1, D: etf.Struct{{Key: "target", Value: nil}, {Key: "nonce", Value: nil},
		{Key: "payload", Value: map[string]any{"t": int64(1), "pad": strings.Repeat("x", 216)}}}}
	for _, enc := range []wire.Encoding{wire.JSON, wire.Msgpack, wire.ETF} {
		b.Run(string(enc), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := wire.EncodeFrame(enc, frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	v := map[string]any{"op": int64(4), "t": "SEND", "d": map[string]any{
		"target":  map[string]any{"application": "bench", "ops": []any{map[string]any{"path": "/region", "op": "$eq", "to": map[string]any{"value": "r3"}}}},
		"payload": map[string]any{"t": int64(1), "pad": strings.Repeat("x", 216)}, "nonce": nil}}
	for _, enc := range []wire.Encoding{wire.JSON, wire.Msgpack, wire.ETF} {
		data, _ := wire.Encode(enc, v)
		b.Run(string(enc), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := wire.Decode(enc, data, wire.Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
