package wire

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonParser decodes one JSON value into the bus value model in one pass over the bytes. It is
// a recursive-descent parser over RFC 8259 (strings must be valid UTF-8, as Jason requires);
// its errors name the byte position the way Jason's do, since the original sends them in op 8.
type jsonParser struct {
	data     []byte
	pos      int
	maxDepth int
}

// decodeJSON decodes exactly one JSON value (surrounded by optional whitespace).
func decodeJSON(data []byte, maxDepth int) (any, error) {
	p := jsonParser{data: data, maxDepth: maxDepth}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.data) {
		return nil, p.unexpected()
	}
	return v, nil
}

func (p *jsonParser) unexpected() error {
	if p.pos >= len(p.data) {
		return decodeErr(fmt.Sprintf("unexpected end of input at position %d", len(p.data)))
	}
	return decodeErr(unexpectedByte(p.data, p.pos))
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	if p.pos >= len(p.data) {
		return nil, p.unexpected()
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, p.unexpected()
}

func (p *jsonParser) literal(word string) error {
	for i := 0; i < len(word); i++ {
		if p.pos >= len(p.data) || p.data[p.pos] != word[i] {
			return p.unexpected()
		}
		p.pos++
	}
	return nil
}

func (p *jsonParser) nest(depth int) error {
	if depth >= p.maxDepth {
		return decodeErr(fmt.Sprintf("nesting deeper than %d levels", p.maxDepth))
	}
	return nil
}

func (p *jsonParser) object(depth int) (any, error) {
	if err := p.nest(depth); err != nil {
		return nil, err
	}
	p.pos++ // {
	m := map[string]any{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return m, nil
	}
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.unexpected()
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.unexpected()
		}
		p.pos++
		p.skipSpace()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[k.(string)] = v
		if done, err := p.next('}'); done || err != nil {
			return m, err
		}
	}
}

// next consumes the whitespace and the comma or closing byte after an element; done is true at
// the closing byte.
func (p *jsonParser) next(closing byte) (bool, error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return false, p.unexpected()
	}
	switch p.data[p.pos] {
	case ',':
		p.pos++
		p.skipSpace()
		return false, nil
	case closing:
		p.pos++
		return true, nil
	}
	return false, p.unexpected()
}

func (p *jsonParser) array(depth int) (any, error) {
	if err := p.nest(depth); err != nil {
		return nil, err
	}
	p.pos++ // [
	l := []any{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return l, nil
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		l = append(l, v)
		if done, err := p.next(']'); done || err != nil {
			return l, err
		}
	}
}

// number scans a JSON number: an integer (int64) when it has no fraction or exponent and fits,
// a float64 otherwise.
func (p *jsonParser) number() (any, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if !p.digits(true) {
		return nil, p.unexpected()
	}
	isFloat := false
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		isFloat = true
		p.pos++
		if !p.digits(false) {
			return nil, p.unexpected()
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		isFloat = true
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if !p.digits(false) {
			return nil, p.unexpected()
		}
	}
	text := p.data[start:p.pos]
	if !isFloat {
		if n, ok := parseInt(text); ok {
			return n, nil
		}
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, decodeErr(fmt.Sprintf("number out of range: %s", text))
	}
	return f, nil
}

// digits scans one or more digits; the integer part (intPart) may not have a leading zero
// followed by more digits.
func (p *jsonParser) digits(intPart bool) bool {
	start := p.pos
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
	}
	n := p.pos - start
	if intPart && n > 1 && p.data[start] == '0' {
		p.pos = start + 1
	}
	return n > 0
}

// parseInt parses an optionally negative decimal integer that fits int64.
func parseInt(b []byte) (int64, bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) > 18 {
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			if neg && string(b) == "9223372036854775808" {
				return math.MinInt64, true
			}
			return 0, false
		}
		if neg {
			n = -n
		}
		return n, true
	}
	var n int64
	for _, c := range b {
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// str scans a string, which must be valid UTF-8.
func (p *jsonParser) str() (any, error) {
	p.pos++ // opening quote
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			s := string(p.data[start:p.pos])
			p.pos++
			return s, nil
		case c == '\\':
			return p.escapedStr(start)
		case c < 0x20:
			return nil, p.unexpected()
		case c < utf8.RuneSelf:
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.data[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return nil, p.unexpected()
			}
			p.pos += size
		}
	}
	return nil, p.unexpected()
}

// escapedStr finishes a string that has escapes, from its start.
func (p *jsonParser) escapedStr(start int) (any, error) {
	buf := append([]byte(nil), p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c == '\\':
			var err error
			if buf, err = p.escape(buf); err != nil {
				return nil, err
			}
		case c < 0x20:
			return nil, p.unexpected()
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.data[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return nil, p.unexpected()
			}
			buf = append(buf, p.data[p.pos:p.pos+size]...)
			p.pos += size
		}
	}
	return nil, p.unexpected()
}

var simpleEscapes = map[byte]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// escape decodes the escape at p.pos (a backslash) onto buf. A lone surrogate becomes U+FFFD.
func (p *jsonParser) escape(buf []byte) ([]byte, error) {
	p.pos++
	if p.pos >= len(p.data) {
		return nil, p.unexpected()
	}
	if c, ok := simpleEscapes[p.data[p.pos]]; ok {
		p.pos++
		return append(buf, c), nil
	}
	if p.data[p.pos] != 'u' {
		return nil, p.unexpected()
	}
	r, ok := p.hex4(p.pos + 1)
	if !ok {
		return nil, p.unexpected()
	}
	p.pos += 5
	if utf16.IsSurrogate(r) {
		if p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
			if r2, ok := p.hex4(p.pos + 2); ok {
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					p.pos += 6
					return utf8.AppendRune(buf, dec), nil
				}
			}
		}
		r = utf8.RuneError
	}
	return utf8.AppendRune(buf, r), nil
}

func (p *jsonParser) hex4(at int) (rune, bool) {
	if at+4 > len(p.data) {
		return 0, false
	}
	var r rune
	for _, c := range p.data[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
