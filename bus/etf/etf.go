package etf

import (
	"errors"
	"sort"
)

// Sentinel errors of the codec. Compare with errors.Is.
var (
	// ErrVersion means the input does not start with the version byte 131.
	ErrVersion = errors.New("etf: missing version byte 131")
	// ErrTruncated means the input ended inside a term.
	ErrTruncated = errors.New("etf: truncated term")
	// ErrUnsupported means the input holds a term the bus value model has no room for.
	ErrUnsupported = errors.New("etf: unsupported term")
	// ErrTrailing means bytes follow the term.
	ErrTrailing = errors.New("etf: trailing bytes after the term")
	// ErrTooDeep means the term nests deeper than DecodeOptions.MaxDepth.
	ErrTooDeep = errors.New("etf: term nests too deeply")
	// ErrTooLarge means a compressed term inflates beyond DecodeOptions.MaxSize.
	ErrTooLarge = errors.New("etf: term too large")
	// ErrKeyType means a map key is neither an atom nor a binary.
	ErrKeyType = errors.New("etf: map key must be an atom or a binary")
	// ErrEncode means a value outside the supported types was given to the encoder.
	ErrEncode = errors.New("etf: cannot encode value")
)

// Atom is an Erlang atom other than nil, true and false (which are Go nil, true and false).
// JSON and msgpack encoders render an Atom as a string.
type Atom string

// Field is one atom-keyed entry of a Struct.
type Field struct {
	Key   string
	Value any
}

// Struct is a map with atom keys, as Elixir encodes a struct (without its __struct__ key).
// JSON and msgpack encoders render it as a map with string keys.
type Struct []Field

// Tags of the external term format.
const (
	versionTag      = 131
	newFloatExt     = 70
	compressedTag   = 80
	bitBinaryExt    = 77
	smallIntegerExt = 97
	integerExt      = 98
	floatExt        = 99
	atomExt         = 100
	smallTupleExt   = 104
	largeTupleExt   = 105
	nilExt          = 106
	stringExt       = 107
	listExt         = 108
	binaryExt       = 109
	smallBigExt     = 110
	largeBigExt     = 111
	smallAtomExt    = 115
	mapExt          = 116
	atomUTF8Ext     = 118
	smallAtomUTF8   = 119
)

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
