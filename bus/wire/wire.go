package wire

import (
	"errors"

	"github.com/mahou-go/mahou/bus/etf"
)

// Encoding is a wire encoding of frames, chosen by the ?encoding= query parameter.
type Encoding string

// The encodings.
const (
	JSON    Encoding = "json"
	Msgpack Encoding = "msgpack"
	ETF     Encoding = "etf"
)

// ParseEncoding returns the encoding named by s; an empty s is JSON, the default.
func ParseEncoding(s string) (Encoding, bool) {
	switch Encoding(s) {
	case "", JSON:
		return JSON, true
	case Msgpack:
		return Msgpack, true
	case ETF:
		return ETF, true
	}
	return "", false
}

// Binary reports whether frames of e travel in binary websocket messages (text for JSON).
func (e Encoding) Binary() bool { return e != JSON }

// Limits bound what Decode accepts.
type Limits struct {
	// MaxDepth is the deepest nesting of lists and maps; 0 means DefaultMaxDepth.
	MaxDepth int
	// MaxSize bounds what a compressed etf term may inflate to; 0 means etf.DefaultMaxSize.
	MaxSize int
}

// DefaultMaxDepth is the default nesting limit of decoded values.
const DefaultMaxDepth = 128

func (l Limits) depth() int {
	if l.MaxDepth <= 0 {
		return DefaultMaxDepth
	}
	return l.MaxDepth
}

// ErrDecode wraps every decoding error; its message is what the protocol sends in op 8.
var ErrDecode = errors.New("decode")

// DecodeError is a decoding failure. Error returns the message only, without a prefix, because
// that is what goes on the wire; errors.Is(err, ErrDecode) holds.
type DecodeError struct{ Msg string }

func (e *DecodeError) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, ErrDecode) true.
func (e *DecodeError) Unwrap() error { return ErrDecode }

func decodeErr(msg string) error { return &DecodeError{Msg: msg} }

// Decode decodes one message of encoding e into the bus value model.
func Decode(e Encoding, data []byte, lim Limits) (any, error) {
	switch e {
	case Msgpack:
		return decodeMsgpack(data, lim.depth())
	case ETF:
		v, err := etf.Decode(data, etf.DecodeOptions{MaxDepth: lim.depth(), MaxSize: lim.MaxSize})
		if err != nil {
			return nil, decodeErr(err.Error())
		}
		return v, nil
	}
	return decodeJSON(data, lim.depth())
}

// Encode encodes v, a value of the bus model or an etf.Atom or etf.Struct, in encoding e.
func Encode(e Encoding, v any) ([]byte, error) {
	switch e {
	case Msgpack:
		return encodeMsgpack(v)
	case ETF:
		return etf.Encode(v)
	}
	return AppendJSON(make([]byte, 0, 128), v)
}

// Frame is a server frame: the envelope every frame the server sends has. T is the event name
// of a dispatch (op 4) and empty, sent as null, for every other op.
type Frame struct {
	Op int
	D  any
	T  string
	TS int64
}

// Value returns the envelope as an atom-keyed struct, the form the original sends in etf.
func (f Frame) Value() etf.Struct {
	var t any
	if f.T != "" {
		t = f.T
	}
	return etf.Struct{{Key: "d", Value: f.D}, {Key: "op", Value: f.Op}, {Key: "t", Value: t}, {Key: "ts", Value: f.TS}}
}

// EncodeFrame encodes f in encoding e.
func EncodeFrame(e Encoding, f Frame) ([]byte, error) {
	return Encode(e, f.Value())
}
