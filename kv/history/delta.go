package history

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// deltaVersion is the first byte of every encoded delta.
const deltaVersion = 1

// blockSize is the match granularity of the middle of a changed value.
const blockSize = 16

// bailOut is how far into a changed middle the matcher looks for a first match before it gives
// up on the two values sharing anything.
const bailOut = 2048

// MaxTargetLen bounds the target length a delta may declare, so a corrupt delta cannot make
// Apply allocate without limit.
const MaxTargetLen = 1 << 30

// ErrCorruptDelta is returned by Apply for a delta it cannot have produced.
var ErrCorruptDelta = errors.New("corrupt delta")

// Delta encodes target relative to base.
func Delta(base, target []byte) []byte {
	e := encoder{buf: make([]byte, 0, 32)}
	e.buf = append(e.buf, deltaVersion)
	e.buf = binary.AppendUvarint(e.buf, uint64(len(target)))

	pre := commonPrefix(base, target)
	suf := commonSuffix(base[pre:], target[pre:])
	e.copy(0, pre)
	matchMiddle(&e, base, target[pre:len(target)-suf], pre, len(base)-suf)
	e.copy(len(base)-suf, suf)
	e.flush()
	return e.buf
}

// Apply rebuilds the target of a delta from its base.
func Apply(base, delta []byte) ([]byte, error) {
	return ApplyTo(nil, base, delta)
}

// TargetLen reads the length of a delta's target without applying it.
func TargetLen(delta []byte) (int, error) {
	if len(delta) < 2 || delta[0] != deltaVersion {
		return 0, fmt.Errorf("read delta: %w: unknown version", ErrCorruptDelta)
	}
	n, k := binary.Uvarint(delta[1:])
	if k <= 0 || n > MaxTargetLen {
		return 0, fmt.Errorf("read delta: %w: bad target length", ErrCorruptDelta)
	}
	return int(n), nil
}

// ApplyTo is Apply writing into dst's storage (dst[:0]; it grows it if needed), so a chain of
// deltas can be applied with two buffers. dst must not overlap base.
func ApplyTo(dst, base, delta []byte) ([]byte, error) {
	tl, err := TargetLen(delta)
	if err != nil {
		return nil, err
	}
	n := uint64(tl)
	_, k := binary.Uvarint(delta[1:])
	p := 1 + k
	out := dst[:0]
	if uint64(cap(out)) < n {
		out = make([]byte, 0, n)
	}
	for p < len(delta) {
		h, k := binary.Uvarint(delta[p:])
		if k <= 0 {
			return nil, fmt.Errorf("apply delta: %w: bad op header at %d", ErrCorruptDelta, p)
		}
		p += k
		size := h >> 1
		if size > n-uint64(len(out)) {
			return nil, fmt.Errorf("apply delta: %w: op overruns target", ErrCorruptDelta)
		}
		if h&1 == 1 {
			if size > uint64(len(delta)-p) {
				return nil, fmt.Errorf("apply delta: %w: insert overruns delta", ErrCorruptDelta)
			}
			out = append(out, delta[p:p+int(size)]...)
			p += int(size)
			continue
		}
		off, k := binary.Uvarint(delta[p:])
		if k <= 0 {
			return nil, fmt.Errorf("apply delta: %w: bad copy offset", ErrCorruptDelta)
		}
		p += k
		if off > uint64(len(base)) || size > uint64(len(base))-off {
			return nil, fmt.Errorf("apply delta: %w: copy outside base", ErrCorruptDelta)
		}
		out = append(out, base[off:off+size]...)
	}
	if uint64(len(out)) != n {
		return nil, fmt.Errorf("apply delta: %w: built %d bytes, want %d", ErrCorruptDelta, len(out), n)
	}
	return out, nil
}

// encoder merges adjacent operations of the same kind as it goes.
type encoder struct {
	buf []byte
	// pending insert bytes not yet written
	ins []byte
	// pending copy, when copyLen > 0
	copyOff, copyLen int
}

func (e *encoder) copy(off, n int) {
	if n <= 0 {
		return
	}
	if len(e.ins) > 0 {
		e.flushInsert()
	}
	if e.copyLen > 0 && e.copyOff+e.copyLen == off {
		e.copyLen += n
		return
	}
	e.flushCopy()
	e.copyOff, e.copyLen = off, n
}

func (e *encoder) insert(b []byte) {
	if len(b) == 0 {
		return
	}
	e.flushCopy()
	e.ins = append(e.ins, b...)
}

func (e *encoder) flushCopy() {
	if e.copyLen == 0 {
		return
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(e.copyLen)<<1)
	e.buf = binary.AppendUvarint(e.buf, uint64(e.copyOff))
	e.copyLen = 0
}

func (e *encoder) flushInsert() {
	if len(e.ins) == 0 {
		return
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(len(e.ins))<<1|1)
	e.buf = append(e.buf, e.ins...)
	e.ins = e.ins[:0]
}

func (e *encoder) flush() {
	e.flushInsert()
	e.flushCopy()
}

func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

func commonSuffix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[len(a)-1-i] == b[len(b)-1-i] {
		i++
	}
	return i
}

// matchMiddle encodes mid (the changed middle of the target) using copies from base[lo:hi] where
// whole blocks match, and inserts elsewhere.
func matchMiddle(e *encoder, base, mid []byte, lo, hi int) {
	if len(mid) < blockSize || hi-lo < blockSize {
		e.insert(mid)
		return
	}
	index := make(map[uint32]int, (hi-lo)/blockSize)
	for off := lo; off+blockSize <= hi; off += blockSize {
		h := blockHash(base[off : off+blockSize])
		if _, dup := index[h]; !dup {
			index[h] = off
		}
	}
	var r roller
	r.init(mid[:blockSize])
	start := 0 // first byte of mid not yet encoded
	matched := false
	for i := 0; i+blockSize <= len(mid); {
		if !matched && i >= bailOut {
			// nothing of the base found this far: the values are unrelated, and the caller
			// stores the target whole; scanning the rest would cost without saving
			break
		}
		if off, ok := index[r.sum()]; ok && equalBlock(base[off:off+blockSize], mid[i:i+blockSize]) {
			// extend the match backwards into pending bytes and forwards
			for i > start && off > lo && base[off-1] == mid[i-1] {
				i--
				off--
			}
			n := blockSize
			for i+n < len(mid) && off+n < hi && base[off+n] == mid[i+n] {
				n++
			}
			e.insert(mid[start:i])
			e.copy(off, n)
			i += n
			start = i
			matched = true
			if i+blockSize <= len(mid) {
				r.init(mid[i : i+blockSize])
			}
			continue
		}
		if i+blockSize < len(mid) {
			r.roll(mid[i], mid[i+blockSize])
		}
		i++
	}
	e.insert(mid[start:])
}

func equalBlock(a, b []byte) bool {
	return string(a) == string(b)
}

// roller is an Adler-32-style rolling checksum over blockSize bytes.
type roller struct {
	a, b uint32
}

func (r *roller) init(block []byte) {
	r.a, r.b = 0, 0
	for i, c := range block {
		r.a += uint32(c)
		r.b += uint32(len(block)-i) * uint32(c)
	}
}

func (r *roller) roll(out, in byte) {
	r.a += uint32(in) - uint32(out)
	r.b += r.a - blockSize*uint32(out)
}

func (r *roller) sum() uint32 { return r.a&0xffff | r.b<<16 }

func blockHash(block []byte) uint32 {
	var r roller
	r.init(block)
	return r.sum()
}
