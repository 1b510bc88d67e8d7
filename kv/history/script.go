package history

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// EditOp is one kind of edit-script segment.
type EditOp uint8

// The segment kinds, named as crush's JSON names them.
const (
	Eq EditOp = iota
	Del
	Ins
)

func (o EditOp) String() string {
	switch o {
	case Eq:
		return "eq"
	case Del:
		return "del"
	case Ins:
		return "ins"
	}
	return "unknown"
}

// ParseEditOp reads "eq", "del" or "ins".
func ParseEditOp(s string) (EditOp, error) {
	switch s {
	case "eq":
		return Eq, nil
	case "del":
		return Del, nil
	case "ins":
		return Ins, nil
	}
	return 0, fmt.Errorf("parse edit op %q: want eq, del or ins", s)
}

// Edit is one segment of an edit script.
type Edit struct {
	Op   EditOp
	Data []byte
}

// ErrScriptMismatch is returned by ApplyScript when a script does not fit the value.
var ErrScriptMismatch = errors.New("edit script does not match value")

// scriptTimeout bounds the Myers search on very different large values; past it the script is
// coarser (larger segments), never wrong.
const scriptTimeout = 250 * time.Millisecond

// Script returns the edit script that turns a into b.
func Script(a, b []byte) []Edit {
	if bytes.Equal(a, b) {
		if len(a) == 0 {
			return []Edit{}
		}
		return []Edit{{Op: Eq, Data: clone(a)}}
	}
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = scriptTimeout
	diffs := dmp.DiffMainRunes(byteRunes(a), byteRunes(b), false)
	out := make([]Edit, 0, len(diffs))
	for _, d := range diffs {
		data := runeBytes(d.Text)
		if len(data) == 0 {
			continue
		}
		var op EditOp
		switch d.Type {
		case diffmatchpatch.DiffEqual:
			op = Eq
		case diffmatchpatch.DiffDelete:
			op = Del
		default:
			op = Ins
		}
		if n := len(out); n > 0 && out[n-1].Op == op {
			out[n-1].Data = append(out[n-1].Data, data...)
			continue
		}
		out = append(out, Edit{Op: op, Data: data})
	}
	return out
}

// ApplyScript applies an edit script to a, checking that every eq and del segment matches.
func ApplyScript(a []byte, script []Edit) ([]byte, error) {
	out := make([]byte, 0, len(a))
	pos := 0
	for i, e := range script {
		switch e.Op {
		case Eq, Del:
			if len(e.Data) > len(a)-pos || !bytes.Equal(a[pos:pos+len(e.Data)], e.Data) {
				return nil, fmt.Errorf("apply script: segment %d (%s): %w", i, e.Op, ErrScriptMismatch)
			}
			if e.Op == Eq {
				out = append(out, e.Data...)
			}
			pos += len(e.Data)
		case Ins:
			out = append(out, e.Data...)
		default:
			return nil, fmt.Errorf("apply script: segment %d: unknown op %d", i, e.Op)
		}
	}
	if pos != len(a) {
		return nil, fmt.Errorf("apply script: %d bytes left over: %w", len(a)-pos, ErrScriptMismatch)
	}
	return out, nil
}

// byteRunes maps each byte to the rune of the same number, so a rune-based diff is byte-exact.
func byteRunes(b []byte) []rune {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return r
}

// runeBytes undoes byteRunes on a segment's text.
func runeBytes(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		out = append(out, byte(r))
	}
	return out
}

func clone(b []byte) []byte {
	return append([]byte(nil), b...)
}
