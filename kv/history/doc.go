// Package history holds the pure byte-level codecs of crush's history: the storage delta codec
// (how a rev is stored relative to the rev before it) and the edit scripts crush's v1 API returns
// (how a value turns into an earlier one). It touches no storage and imports no other part of the
// project, only the standard library and a Myers diff.
//
// # Deltas
//
// A delta rebuilds a target from a base. Encoded, it is a version byte, the target length as a
// uvarint, then operations, each a uvarint header h:
//
//	h&1 == 0: copy  h>>1 bytes from the base at the uvarint offset that follows
//	h&1 == 1: insert h>>1 bytes that follow literally
//
// Worked example: base "hello world", target "hello, world" encodes as
//
//	01 0c | 0a 00 | 03 2c | 0c 05     version 1, length 12,
//	                                    copy 5 from 0, insert ",", copy 6 from 5
//
// so a 1-byte edit of a 4 KiB value costs about ten bytes. Delta computes a common prefix and
// suffix, then matches the changed middle against the base in fixed blocks (an rsync-style rolling
// hash), so moved and repeated content is copied, not stored again. It is deterministic: every
// replica computes the same bytes.
//
// # Edit scripts
//
// Script returns a Myers edit script over bytes (eq / del / ins segments, deletions before
// insertions in a changed region), the format of crush's v1 patches. For ASCII values it equals
// what the original produced with Elixir's String.myers_difference; for any bytes, ApplyScript
// rebuilds the other value exactly.
package history
