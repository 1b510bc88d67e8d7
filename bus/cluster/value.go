package cluster

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/mahou-go/mahou/bus/etf"
)

// The value codec carries the bus value model between nodes exactly: integers and floats stay
// apart, and etf.Atom and etf.Struct survive (an ETF client on another node must get the same
// atoms and atom-keyed maps as one on the sender's node). Each value is a tag byte, then:
//
//	nil false true         nothing
//	int                    zig-zag varint
//	float                  8 bytes, IEEE 754 big-endian
//	string atom            uvarint length, bytes
//	list                   uvarint count, values
//	map struct             uvarint count, (uvarint length, key bytes, value)...; map keys sorted
const (
	tagNil byte = iota + 1
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagString
	tagAtom
	tagList
	tagMap
	tagStruct
)

// maxValueDepth bounds the nesting of a decoded value; what a node sends passed a frame decoder
// with a lower limit, so this only guards against a corrupt stream.
const maxValueDepth = 512

func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, tagNil), nil
	case bool:
		if x {
			return append(b, tagTrue), nil
		}
		return append(b, tagFalse), nil
	case int64:
		return binary.AppendVarint(append(b, tagInt), x), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(b, tagFloat), math.Float64bits(x)), nil
	case string:
		return appendString(append(b, tagString), x), nil
	case etf.Atom:
		return appendString(append(b, tagAtom), string(x)), nil
	case []any:
		b = binary.AppendUvarint(append(b, tagList), uint64(len(x)))
		for _, e := range x {
			var err error
			if b, err = appendValue(b, e); err != nil {
				return nil, err
			}
		}
		return b, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = binary.AppendUvarint(append(b, tagMap), uint64(len(x)))
		for _, k := range keys {
			var err error
			if b, err = appendValue(appendString(b, k), x[k]); err != nil {
				return nil, err
			}
		}
		return b, nil
	case etf.Struct:
		b = binary.AppendUvarint(append(b, tagStruct), uint64(len(x)))
		for _, f := range x {
			var err error
			if b, err = appendValue(appendString(b, f.Key), f.Value); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, fmt.Errorf("encode value: %w: %T", ErrCorrupt, v)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// reader decodes what the append functions wrote. The first failure sticks: later reads return
// zero values, and err reports it once at the end.
type reader struct {
	b   []byte
	err error
	// budget is how many more list, map and struct elements the input may declare: every
	// element starts with a tag byte of its own, so all the counts of a valid input add up to
	// less than its length. It keeps nested counts from allocating far beyond the input.
	budget int
}

// newReader returns a reader of b.
func newReader(b []byte) *reader { return &reader{b: b, budget: len(b)} }

// initialCap bounds the capacity allocated ahead of a declared count; longer lists grow as
// their elements are actually read.
const initialCap = 256

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("decode %s: %w", what, ErrCorrupt)
	}
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail("byte")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.fail("string")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// count reads a list or map length; each element takes at least one byte of the input, which
// bounds it and, over the whole input, the sum of all counts (budget).
func (r *reader) count() int {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) || n > uint64(r.budget) {
		r.fail("count")
		return 0
	}
	r.budget -= int(n)
	return int(n)
}

func (r *reader) value(depth int) any {
	if depth > maxValueDepth {
		r.fail("value: too deep")
		return nil
	}
	switch r.byte() {
	case tagNil:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagInt:
		return r.varint()
	case tagFloat:
		if r.err != nil || len(r.b) < 8 {
			r.fail("float")
			return nil
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(r.b))
		r.b = r.b[8:]
		return f
	case tagString:
		return r.string()
	case tagAtom:
		return etf.Atom(r.string())
	case tagList:
		n := r.count()
		out := make([]any, 0, min(n, initialCap))
		for i := 0; i < n && r.err == nil; i++ {
			out = append(out, r.value(depth+1))
		}
		return out
	case tagMap:
		n := r.count()
		out := make(map[string]any, min(n, initialCap))
		for i := 0; i < n && r.err == nil; i++ {
			k := r.string()
			out[k] = r.value(depth + 1)
		}
		return out
	case tagStruct:
		n := r.count()
		out := make(etf.Struct, 0, min(n, initialCap))
		for i := 0; i < n && r.err == nil; i++ {
			k := r.string()
			out = append(out, etf.Field{Key: k, Value: r.value(depth + 1)})
		}
		return out
	}
	r.fail("value tag")
	return nil
}

// end fails unless everything was read.
func (r *reader) end(what string) error {
	if r.err == nil && len(r.b) != 0 {
		r.fail(what + ": trailing bytes")
	}
	return r.err
}
