package cluster

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
)

// A frame whose nested lists each declare as many elements as there are bytes left is refused
// without allocating for the declared counts (it used to allocate gigabytes from 256 KiB).
func TestDecodeFrame_DeclaredCountsDoNotAllocate(t *testing.T) {
	const size = 256 << 10
	b := []byte{byte(frameDeliver)}
	b = appendString(appendString(b, "a"), "b") // the client key
	b = appendString(b, "SEND")                 // event
	b = binary.AppendVarint(b, 0)               // at
	for range 400 {                             // the nonce: 400 nested lists
		b = append(b, tagList)
		b = binary.AppendUvarint(b, uint64(size-len(b)-8))
	}
	for len(b) < size {
		b = append(b, 0) // not a tag: decoding fails here
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := decodeFrame(b)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("decodeFrame: %v, want ErrCorrupt", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Fatalf("decoding a %d-byte frame allocated %d MiB", len(b), alloc>>20)
	}

	// Many small lists that each claim a little: together they cannot claim more than the input.
	b = b[:0]
	b = append(b, byte(frameDeliver))
	b = appendString(appendString(b, "a"), "b")
	b = appendString(b, "SEND")
	b = binary.AppendVarint(b, 0)
	b = append(b, tagList, 3, tagList, 3, tagList, 3, tagNil) // declares 9 elements in 7 bytes
	if _, err := decodeFrame(b); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("over-declared nested lists: %v, want ErrCorrupt", err)
	}
}

// readFrame takes the body as it arrives: a header that announces 64 MiB followed by nothing
// is a short read, not a 64 MiB allocation.
func TestReadFrame_ShortBody(t *testing.T) {
	var in bytes.Buffer
	in.Write(binary.BigEndian.AppendUint32(nil, maxFrameBytes))
	in.WriteString("only this")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := readFrame(bufio.NewReader(&in))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("readFrame: %v, want io.ErrUnexpectedEOF", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("a 9-byte body allocated %d KiB", alloc>>10)
	}
}
