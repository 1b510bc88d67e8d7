package etf

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DecodeOptions bound what Decode accepts.
type DecodeOptions struct {
	// MaxDepth is the deepest nesting of lists, tuples and maps accepted; 0 means
	// DefaultMaxDepth.
	MaxDepth int
	// MaxSize is the largest size a compressed term may inflate to; 0 means DefaultMaxSize.
	MaxSize int
}

// Defaults of DecodeOptions.
const (
	DefaultMaxDepth = 512
	DefaultMaxSize  = 16 << 20
)

// Decode decodes one term, starting with the version byte, into the bus value model. The whole
// input must be one term.
func Decode(data []byte, opts DecodeOptions) (any, error) {
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = DefaultMaxDepth
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if len(data) == 0 || data[0] != versionTag {
		return nil, ErrVersion
	}
	data = data[1:]
	if len(data) > 0 && data[0] == compressedTag {
		inflated, err := inflate(data[1:], opts.MaxSize)
		if err != nil {
			return nil, err
		}
		data = inflated
	}
	d := decoder{data: data, maxDepth: opts.MaxDepth}
	v, err := d.term(0)
	if err != nil {
		return nil, err
	}
	if d.pos != len(d.data) {
		return nil, fmt.Errorf("%w: %d bytes at offset %d", ErrTrailing, len(d.data)-d.pos, d.pos+1)
	}
	return v, nil
}

func inflate(data []byte, maxSize int) ([]byte, error) {
	if len(data) < 4 {
		return nil, ErrTruncated
	}
	size := binary.BigEndian.Uint32(data)
	if int64(size) > int64(maxSize) {
		return nil, fmt.Errorf("%w: compressed term inflates to %d bytes, limit %d", ErrTooLarge, size, maxSize)
	}
	zr, err := zlib.NewReader(bytes.NewReader(data[4:]))
	if err != nil {
		return nil, fmt.Errorf("%w: compressed term: %v", ErrUnsupported, err)
	}
	defer zr.Close()
	out := make([]byte, 0, size)
	buf := bytes.NewBuffer(out)
	n, err := io.Copy(buf, io.LimitReader(zr, int64(size)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: compressed term: %v", ErrUnsupported, err)
	}
	if n != int64(size) {
		return nil, fmt.Errorf("%w: compressed term inflates to %d bytes, header says %d", ErrUnsupported, n, size)
	}
	return buf.Bytes(), nil
}

type decoder struct {
	data     []byte
	pos      int
	maxDepth int
}

func (d *decoder) need(n int) ([]byte, error) {
	if n < 0 || len(d.data)-d.pos < n {
		return nil, fmt.Errorf("%w: need %d bytes at offset %d", ErrTruncated, n, d.pos+1)
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

func (d *decoder) u8() (int, error) {
	b, err := d.need(1)
	if err != nil {
		return 0, err
	}
	return int(b[0]), nil
}

func (d *decoder) u16() (int, error) {
	b, err := d.need(2)
	if err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint16(b)), nil
}

func (d *decoder) u32() (int, error) {
	b, err := d.need(4)
	if err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint32(b)), nil
}

// term decodes one term. It is a switch over the format's tags; each case is short.
func (d *decoder) term(depth int) (any, error) {
	if depth > d.maxDepth {
		return nil, ErrTooDeep
	}
	tag, err := d.u8()
	if err != nil {
		return nil, err
	}
	switch tag {
	case smallIntegerExt:
		n, err := d.u8()
		return int64(n), err
	case integerExt:
		b, err := d.need(4)
		if err != nil {
			return nil, err
		}
		return int64(int32(binary.BigEndian.Uint32(b))), nil
	case smallBigExt:
		n, err := d.u8()
		if err != nil {
			return nil, err
		}
		return d.bigInt(n)
	case largeBigExt:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		return d.bigInt(n)
	case newFloatExt:
		b, err := d.need(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	case floatExt:
		return d.oldFloat()
	case atomExt, smallAtomExt, atomUTF8Ext, smallAtomUTF8:
		return d.atomValue(tag)
	case binaryExt:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		b, err := d.need(n)
		return string(b), err
	case nilExt:
		return []any{}, nil
	case stringExt:
		return d.charList()
	case listExt:
		return d.list(depth)
	case smallTupleExt, largeTupleExt:
		return d.tuple(tag, depth)
	case mapExt:
		return d.mapTerm(depth)
	}
	return nil, fmt.Errorf("%w: tag %d at offset %d", ErrUnsupported, tag, d.pos)
}

func (d *decoder) bigInt(n int) (any, error) {
	sign, err := d.u8()
	if err != nil {
		return nil, err
	}
	digits, err := d.need(n)
	if err != nil {
		return nil, err
	}
	be := make([]byte, n)
	for i, b := range digits {
		be[n-1-i] = b
	}
	v := new(big.Int).SetBytes(be)
	if sign != 0 {
		v.Neg(v)
	}
	if v.IsInt64() {
		return v.Int64(), nil
	}
	f, _ := new(big.Float).SetInt(v).Float64()
	return f, nil
}

// oldFloat decodes FLOAT_EXT: 31 bytes of "%.20e" text, NUL padded.
func (d *decoder) oldFloat() (any, error) {
	b, err := d.need(31)
	if err != nil {
		return nil, err
	}
	s := strings.TrimRight(string(b), "\x00")
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return nil, fmt.Errorf("%w: FLOAT_EXT %q", ErrUnsupported, s)
	}
	return f, nil
}

func (d *decoder) atomName(tag int) (string, error) {
	var n int
	var err error
	if tag == smallAtomExt || tag == smallAtomUTF8 {
		n, err = d.u8()
	} else {
		n, err = d.u16()
	}
	if err != nil {
		return "", err
	}
	b, err := d.need(n)
	if err != nil {
		return "", err
	}
	if tag == atomExt || tag == smallAtomExt {
		return latin1(b), nil
	}
	return string(b), nil
}

func latin1(b []byte) string {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			r := make([]rune, len(b))
			for i, c := range b {
				r[i] = rune(c)
			}
			return string(r)
		}
	}
	return string(b)
}

func (d *decoder) atomValue(tag int) (any, error) {
	name, err := d.atomName(tag)
	if err != nil {
		return nil, err
	}
	switch name {
	case "nil":
		return nil, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return name, nil
}

func (d *decoder) charList() (any, error) {
	n, err := d.u16()
	if err != nil {
		return nil, err
	}
	b, err := d.need(n)
	if err != nil {
		return nil, err
	}
	l := make([]any, n)
	for i, c := range b {
		l[i] = int64(c)
	}
	return l, nil
}

// capFor bounds a preallocation by the bytes left, so a forged length cannot allocate more
// than the input could hold.
func (d *decoder) capFor(n, minBytes int) int {
	return min(n, (len(d.data)-d.pos)/minBytes)
}

func (d *decoder) list(depth int) (any, error) {
	n, err := d.u32()
	if err != nil {
		return nil, err
	}
	l, err := d.elements(n, depth)
	if err != nil {
		return nil, err
	}
	tail, err := d.u8()
	if err != nil {
		return nil, err
	}
	if tail != nilExt {
		return nil, fmt.Errorf("%w: improper list at offset %d", ErrUnsupported, d.pos)
	}
	return l, nil
}

func (d *decoder) elements(n, depth int) ([]any, error) {
	l := make([]any, 0, d.capFor(n, 1))
	for range n {
		v, err := d.term(depth + 1)
		if err != nil {
			return nil, err
		}
		l = append(l, v)
	}
	return l, nil
}

func (d *decoder) tuple(tag, depth int) (any, error) {
	var n int
	var err error
	if tag == smallTupleExt {
		n, err = d.u8()
	} else {
		n, err = d.u32()
	}
	if err != nil {
		return nil, err
	}
	return d.elements(n, depth)
}

func (d *decoder) mapTerm(depth int) (any, error) {
	n, err := d.u32()
	if err != nil {
		return nil, err
	}
	m := make(map[string]any, d.capFor(n, 2))
	for range n {
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		v, err := d.term(depth + 1)
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}

func (d *decoder) key() (string, error) {
	tag, err := d.u8()
	if err != nil {
		return "", err
	}
	switch tag {
	case atomExt, smallAtomExt, atomUTF8Ext, smallAtomUTF8:
		return d.atomName(tag)
	case binaryExt:
		n, err := d.u32()
		if err != nil {
			return "", err
		}
		b, err := d.need(n)
		return string(b), err
	}
	return "", fmt.Errorf("%w: tag %d at offset %d", ErrKeyType, tag, d.pos)
}
