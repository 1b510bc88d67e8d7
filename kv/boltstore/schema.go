package boltstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// schemaVersion is stored in the meta bucket; Open refuses a file with another version.
const schemaVersion = 1

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

// histKey is the hist-bucket key of one rev: the prefix, then the rev big-endian, so a key's
// history is stored in rev order.
func histKey(fork, key string, rev uint64) []byte {
	return binary.BigEndian.AppendUint64(histPrefix(fork, key), rev)
}

// revKey is the revs-bucket key of a store revision, big-endian so storage order is revision
// order.
func revKey(r int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(r))
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func readU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func hasPrefix(b, p []byte) bool { return bytes.HasPrefix(b, p) }
