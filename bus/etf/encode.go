package etf

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
)

// Encode returns the external term format of v, starting with the version byte.
func Encode(v any) ([]byte, error) {
	return Append(make([]byte, 0, 64), v)
}

// Append appends the external term format of v, starting with the version byte, to dst.
// Supported values: nil, bool, int, int64, float64, string, []byte, Atom, []any,
// map[string]any and Struct. Map keys are written in sorted order, as Erlang writes small maps.
func Append(dst []byte, v any) ([]byte, error) {
	return appendTerm(append(dst, versionTag), v)
}

func appendTerm(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return appendAtom(b, "nil"), nil
	case bool:
		if x {
			return appendAtom(b, "true"), nil
		}
		return appendAtom(b, "false"), nil
	case Atom:
		return appendAtom(b, string(x)), nil
	case int:
		return appendInt(b, int64(x)), nil
	case int64:
		return appendInt(b, x), nil
	case float64:
		b = append(b, newFloatExt)
		return binary.BigEndian.AppendUint64(b, math.Float64bits(x)), nil
	case string:
		b = append(b, binaryExt)
		b = binary.BigEndian.AppendUint32(b, uint32(len(x)))
		return append(b, x...), nil
	case []byte:
		b = append(b, binaryExt)
		b = binary.BigEndian.AppendUint32(b, uint32(len(x)))
		return append(b, x...), nil
	case []any:
		return appendList(b, x)
	case map[string]any:
		return appendMap(b, x)
	case Struct:
		return appendStruct(b, x)
	}
	return b, fmt.Errorf("%w: %T", ErrEncode, v)
}

func appendAtom(b []byte, name string) []byte {
	if len(name) <= math.MaxUint8 {
		b = append(b, smallAtomUTF8, byte(len(name)))
	} else {
		b = append(b, atomUTF8Ext)
		b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
	}
	return append(b, name...)
}

func appendInt(b []byte, n int64) []byte {
	switch {
	case n >= 0 && n <= math.MaxUint8:
		return append(b, smallIntegerExt, byte(n))
	case n >= math.MinInt32 && n <= math.MaxInt32:
		b = append(b, integerExt)
		return binary.BigEndian.AppendUint32(b, uint32(int32(n)))
	}
	sign := byte(0)
	mag := uint64(n)
	if n < 0 {
		sign, mag = 1, uint64(-n) // -MinInt64 wraps to itself, which is its magnitude as uint64
	}
	var digits [8]byte
	k := 0
	for mag > 0 {
		digits[k] = byte(mag)
		mag >>= 8
		k++
	}
	b = append(b, smallBigExt, byte(k), sign)
	return append(b, digits[:k]...)
}

func appendList(b []byte, l []any) ([]byte, error) {
	if len(l) == 0 {
		return append(b, nilExt), nil
	}
	if s, ok := byteList(l); ok {
		// Erlang writes a list of small integers as STRING_EXT, and so do we.
		b = append(b, stringExt)
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		return append(b, s...), nil
	}
	b = append(b, listExt)
	b = binary.BigEndian.AppendUint32(b, uint32(len(l)))
	var err error
	for _, e := range l {
		if b, err = appendTerm(b, e); err != nil {
			return b, err
		}
	}
	return append(b, nilExt), nil
}

// byteList returns l as bytes when every element is an integer in 0..255 and l fits STRING_EXT.
func byteList(l []any) ([]byte, bool) {
	if len(l) > math.MaxUint16 {
		return nil, false
	}
	for _, e := range l {
		if _, ok := smallByte(e); !ok {
			return nil, false
		}
	}
	s := make([]byte, len(l))
	for i, e := range l {
		s[i], _ = smallByte(e)
	}
	return s, true
}

func smallByte(e any) (byte, bool) {
	var n int64
	switch x := e.(type) {
	case int64:
		n = x
	case int:
		n = int64(x)
	default:
		return 0, false
	}
	return byte(n), n >= 0 && n <= math.MaxUint8
}

func appendMap(b []byte, m map[string]any) ([]byte, error) {
	b = append(b, mapExt)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
	var err error
	for _, k := range sortedKeys(m) {
		b = append(b, binaryExt)
		b = binary.BigEndian.AppendUint32(b, uint32(len(k)))
		b = append(b, k...)
		if b, err = appendTerm(b, m[k]); err != nil {
			return b, err
		}
	}
	return b, nil
}

func appendStruct(b []byte, s Struct) ([]byte, error) {
	fields := s
	if !sort.SliceIsSorted(fields, func(i, j int) bool { return fields[i].Key < fields[j].Key }) {
		fields = append(Struct(nil), s...)
		sort.Slice(fields, func(i, j int) bool { return fields[i].Key < fields[j].Key })
	}
	b = append(b, mapExt)
	b = binary.BigEndian.AppendUint32(b, uint32(len(fields)))
	var err error
	for _, f := range fields {
		b = appendAtom(b, f.Key)
		if b, err = appendTerm(b, f.Value); err != nil {
			return b, err
		}
	}
	return b, nil
}
