package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mahou-go/mahou/bus/etf"
)

// decodeJSON decodes one JSON value. Syntax errors read like Jason's, which the original
// sends verbatim in op 8.
func decodeJSON(data []byte, maxDepth int) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonError(data, err)
	}
	if rest := data[dec.InputOffset():]; len(bytes.TrimLeft(rest, " \t\r\n")) > 0 {
		pos := len(data) - len(bytes.TrimLeft(rest, " \t\r\n"))
		return nil, decodeErr(unexpectedByte(data, pos))
	}
	return normalizeJSON(v, 0, maxDepth)
}

func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		pos := int(syn.Offset) - 1
		if pos < 0 || pos >= len(data) {
			return decodeErr(fmt.Sprintf("unexpected end of input at position %d", len(data)))
		}
		return decodeErr(unexpectedByte(data, pos))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return decodeErr(fmt.Sprintf("unexpected end of input at position %d", len(data)))
	}
	return decodeErr(err.Error())
}

// unexpectedByte formats Jason's syntax error: unexpected byte at position 0: 0x78 ("x").
func unexpectedByte(data []byte, pos int) string {
	c := data[pos]
	shown := fmt.Sprintf("<<%d>>", c)
	if c >= 0x20 && c < 0x7f {
		shown = strconv.Quote(string(rune(c)))
	}
	return fmt.Sprintf("unexpected byte at position %d: 0x%X (%s)", pos, c, shown)
}

// normalizeJSON turns json.Numbers into int64 (no fraction, no exponent, fits) or float64, and
// enforces the depth limit.
func normalizeJSON(v any, depth, maxDepth int) (any, error) {
	if depth > maxDepth {
		return nil, decodeErr(fmt.Sprintf("nesting deeper than %d levels", maxDepth))
	}
	switch x := v.(type) {
	case json.Number:
		return jsonNumber(string(x))
	case []any:
		for i, e := range x {
			n, err := normalizeJSON(e, depth+1, maxDepth)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	case map[string]any:
		for k, e := range x {
			n, err := normalizeJSON(e, depth+1, maxDepth)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
	}
	return v, nil
}

func jsonNumber(s string) (any, error) {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, decodeErr(fmt.Sprintf("number out of range: %s", s))
	}
	return f, nil
}

// AppendJSON appends the JSON form of v to b. Map keys are sorted; NaN and infinities, which
// JSON cannot express, are written as null.
func AppendJSON(b []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case float64:
		return appendFloat(b, x), nil
	case string:
		return appendString(b, x), nil
	case etf.Atom:
		return appendString(b, string(x)), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = AppendJSON(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		return appendObject(b, x)
	case etf.Struct:
		b = append(b, '{')
		for i, f := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, f.Key), ':')
			if b, err = AppendJSON(b, f.Value); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	}
	return b, fmt.Errorf("encode json: unsupported value %T", v)
}

func appendObject(b []byte, m map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':')
		if b, err = AppendJSON(b, m[k]); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendFloat writes a float so that it reads back as a float: 1.0, 0.25, 1e+21.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	start := len(b)
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(b, f, 'e', -1, 64)
	}
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	if !bytes.ContainsAny(b[start:], ".e") {
		b = append(b, ".0"...)
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
