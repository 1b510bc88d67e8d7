package boltstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
)

// schemaVersion is stored in the meta bucket; Open refuses a file with another version.
// Version 2: revs and revisions in keys are order-preserving varints (ordKey).
const schemaVersion = 2

// Bucket names.
var (
	bucketMeta  = []byte("meta")
	bucketKeys  = []byte("keys")
	bucketHist  = []byte("hist")
	bucketRevs  = []byte("revs")
	bucketForks = []byte("forks")
)

// Keys of the meta bucket.
var (
	metaSchema    = []byte("schema")
	metaApplied   = []byte("applied_index")
	metaRevision  = []byte("revision")
	metaCompacted = []byte("compacted_revision")
	metaLastTime  = []byte("last_time")
	metaRetention = []byte("retention")
)

// forkPrefix is the prefix every key of one fork shares in the keys and hist buckets.
func forkPrefix(fork string) []byte {
	b := binary.AppendUvarint(make([]byte, 0, 1+len(fork)), uint64(len(fork)))
	return append(b, fork...)
}

// keysKey is the keys-bucket key of (fork, key): the fork length-prefixed, then the key, so one
// fork's keys sort together and in key order.
func keysKey(fork, key string) []byte {
	b := forkPrefix(fork)
	return append(b, key...)
}

// splitKeysKey undoes keysKey.
func splitKeysKey(k []byte) (fork, key string, err error) {
	n, w := binary.Uvarint(k)
	if w <= 0 || n > uint64(len(k)-w) {
		return "", "", fmt.Errorf("split key %x: %w", k, errCorrupt)
	}
	return string(k[w : w+int(n)]), string(k[w+int(n):]), nil
}

// histPrefix is the prefix of every hist-bucket key of (fork, key): both length-prefixed, so no
// key's history range contains another key's.
func histPrefix(fork, key string) []byte {
	b := forkPrefix(fork)
	b = binary.AppendUvarint(b, uint64(len(key)))
	return append(b, key...)
}

// histKey is the hist-bucket key of one rev: the prefix, then the rev as an ordKey, so a key's
// history is stored in rev order.
func histKey(fork, key string, rev uint64) []byte {
	return appendOrd(histPrefix(fork, key), rev)
}

// revKey is the revs-bucket key of a store revision, an ordKey so storage order is revision
// order.
func revKey(r int64) []byte {
	return appendOrd(make([]byte, 0, 9), uint64(r))
}

// appendOrd appends an order-preserving variable-length encoding of v: a byte holding the
// number of bytes that follow (0 to 8), then v big-endian without leading zero bytes. Shorter
// means smaller, so byte order is numeric order, and small numbers take few bytes (rev 300 is
// 3 bytes instead of 8).
func appendOrd(b []byte, v uint64) []byte {
	n := (bits.Len64(v) + 7) / 8
	b = append(b, byte(n))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// readOrd decodes appendOrd's encoding, which must be all of b.
func readOrd(b []byte) (uint64, bool) {
	if len(b) == 0 || int(b[0]) != len(b)-1 || b[0] > 8 {
		return 0, false
	}
	var v uint64
	for _, c := range b[1:] {
		v = v<<8 | uint64(c)
	}
	return v, true
}

// revOf decodes a revs-bucket key.
func revOf(k []byte) int64 {
	v, _ := readOrd(k)
	return int64(v)
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func readU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func hasPrefix(b, p []byte) bool { return bytes.HasPrefix(b, p) }
