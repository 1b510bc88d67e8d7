package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/mahou-go/mahou/bus/etf"
)

// msgpackReader walks one message with the library's primitive decoders, so that the value
// model, the depth limit and allocation bounds are ours.
type msgpackReader struct {
	r   *bytes.Reader
	dec *msgpack.Decoder
	max int
}

var msgpackReaders = sync.Pool{New: func() any {
	r := bytes.NewReader(nil)
	return &msgpackReader{r: r, dec: msgpack.NewDecoder(r)}
}}

// decodeMsgpack decodes one msgpack value. Error texts follow Msgpax, which the original sends
// in op 8: "given binary is incomplete", "found excess bytes", "invalid format, first byte: N".
func decodeMsgpack(data []byte, maxDepth int) (any, error) {
	mr := msgpackReaders.Get().(*msgpackReader)
	defer msgpackReaders.Put(mr)
	mr.r.Reset(data)
	mr.dec.Reset(mr.r)
	mr.max = maxDepth
	v, err := mr.value(0)
	if err != nil {
		return nil, err
	}
	if mr.r.Len() > 0 {
		return nil, decodeErr("found excess bytes")
	}
	return v, nil
}

func (mr *msgpackReader) fail(err error) error {
	var de *DecodeError
	switch {
	case errors.As(err, &de):
		return err
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return decodeErr("given binary is incomplete")
	}
	return decodeErr(err.Error())
}

// value decodes one value; a switch over msgpack's format families.
func (mr *msgpackReader) value(depth int) (any, error) {
	if depth > mr.max {
		return nil, decodeErr(fmt.Sprintf("nesting deeper than %d levels", mr.max))
	}
	c, err := mr.dec.PeekCode()
	if err != nil {
		return nil, mr.fail(err)
	}
	switch {
	case c == msgpcode.Nil:
		return nil, mr.failOrNil(mr.dec.DecodeNil())
	case c == msgpcode.True || c == msgpcode.False:
		b, err := mr.dec.DecodeBool()
		return b, mr.failOrNil(err)
	case msgpcode.IsFixedNum(c) || (c >= msgpcode.Uint8 && c <= msgpcode.Int64 && c != msgpcode.Uint64):
		n, err := mr.dec.DecodeInt64()
		return n, mr.failOrNil(err)
	case c == msgpcode.Uint64:
		return mr.uint64()
	case c == msgpcode.Float || c == msgpcode.Double:
		f, err := mr.dec.DecodeFloat64()
		return f, mr.failOrNil(err)
	case msgpcode.IsString(c) || msgpcode.IsBin(c):
		return mr.str()
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		return mr.array(depth)
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		return mr.mapValue(depth)
	case msgpcode.IsExt(c):
		return nil, decodeErr(fmt.Sprintf("unsupported extension type, first byte: %d", c))
	}
	return nil, decodeErr(fmt.Sprintf("invalid format, first byte: %d", c))
}

func (mr *msgpackReader) failOrNil(err error) error {
	if err == nil {
		return nil
	}
	return mr.fail(err)
}

func (mr *msgpackReader) uint64() (any, error) {
	u, err := mr.dec.DecodeUint64()
	if err != nil {
		return nil, mr.fail(err)
	}
	if u > math.MaxInt64 {
		return float64(u), nil
	}
	return int64(u), nil
}

// str decodes a str or bin (Msgpax returns both as binaries, i.e. strings), refusing a length
// longer than what is left before allocating.
func (mr *msgpackReader) str() (any, error) {
	c, _ := mr.dec.PeekCode()
	if n, ok := declaredLen(c, mr.r); ok && n > mr.r.Len() {
		return nil, decodeErr("given binary is incomplete")
	}
	if msgpcode.IsBin(c) {
		b, err := mr.dec.DecodeBytes()
		return string(b), mr.failOrNil(err)
	}
	s, err := mr.dec.DecodeString()
	return s, mr.failOrNil(err)
}

// declaredLen reads the length header of the str/bin at the reader's position without moving.
func declaredLen(c byte, r *bytes.Reader) (int, bool) {
	var hdr [5]byte
	pos := r.Size() - int64(r.Len())
	n, _ := r.ReadAt(hdr[:], pos)
	switch {
	case n >= 2 && (c == msgpcode.Str8 || c == msgpcode.Bin8):
		return int(hdr[1]), true
	case n >= 3 && (c == msgpcode.Str16 || c == msgpcode.Bin16):
		return int(hdr[1])<<8 | int(hdr[2]), true
	case n >= 5 && (c == msgpcode.Str32 || c == msgpcode.Bin32):
		return int(hdr[1])<<24 | int(hdr[2])<<16 | int(hdr[3])<<8 | int(hdr[4]), true
	}
	return 0, false
}

func (mr *msgpackReader) array(depth int) (any, error) {
	n, err := mr.dec.DecodeArrayLen()
	if err != nil {
		return nil, mr.fail(err)
	}
	l := make([]any, 0, min(n, mr.r.Len()))
	for range n {
		v, err := mr.value(depth + 1)
		if err != nil {
			return nil, err
		}
		l = append(l, v)
	}
	return l, nil
}

func (mr *msgpackReader) mapValue(depth int) (any, error) {
	n, err := mr.dec.DecodeMapLen()
	if err != nil {
		return nil, mr.fail(err)
	}
	m := make(map[string]any, min(n, mr.r.Len()/2))
	for range n {
		c, err := mr.dec.PeekCode()
		if err != nil {
			return nil, mr.fail(err)
		}
		if !msgpcode.IsString(c) && !msgpcode.IsBin(c) {
			return nil, decodeErr(fmt.Sprintf("map keys must be strings, first byte: %d", c))
		}
		k, err := mr.str()
		if err != nil {
			return nil, err
		}
		v, err := mr.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[k.(string)] = v
	}
	return m, nil
}

type msgpackWriter struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

var msgpackWriters = sync.Pool{New: func() any {
	w := &msgpackWriter{}
	w.enc = msgpack.NewEncoder(&w.buf)
	return w
}}

// encodeMsgpack encodes v with compact integers and float64 floats, as Msgpax does.
func encodeMsgpack(v any) ([]byte, error) {
	w := msgpackWriters.Get().(*msgpackWriter)
	defer msgpackWriters.Put(w)
	w.buf.Reset()
	if err := w.write(v); err != nil {
		return nil, err
	}
	return bytes.Clone(w.buf.Bytes()), nil
}

func (w *msgpackWriter) write(v any) error {
	e := w.enc
	switch x := v.(type) {
	case nil:
		return e.EncodeNil()
	case bool:
		return e.EncodeBool(x)
	case int:
		return e.EncodeInt(int64(x))
	case int64:
		return e.EncodeInt(x)
	case float64:
		return e.EncodeFloat64(x)
	case string:
		return e.EncodeString(x)
	case etf.Atom:
		return e.EncodeString(string(x))
	case []any:
		if err := e.EncodeArrayLen(len(x)); err != nil {
			return err
		}
		for _, el := range x {
			if err := w.write(el); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		return w.writeMap(x)
	case etf.Struct:
		if err := e.EncodeMapLen(len(x)); err != nil {
			return err
		}
		for _, f := range x {
			if err := e.EncodeString(f.Key); err != nil {
				return err
			}
			if err := w.write(f.Value); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("encode msgpack: unsupported value %T", v)
}

func (w *msgpackWriter) writeMap(m map[string]any) error {
	if err := w.enc.EncodeMapLen(len(m)); err != nil {
		return err
	}
	var small [8]string
	for _, k := range sortedKeys(small[:0], m) {
		if err := w.enc.EncodeString(k); err != nil {
			return err
		}
		if err := w.write(m[k]); err != nil {
			return err
		}
	}
	return nil
}
