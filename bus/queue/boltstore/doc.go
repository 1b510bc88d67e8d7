// Package boltstore is the bbolt implementation of queue.Store: the file the durable queues of
// one node live in (queues.db in the data directory).
//
// Layout (schema version 2, in the meta bucket; a version 1 file is upgraded in place):
//
//	meta                 "schema" → 8-byte big-endian version
//	                     "applied" → 8-byte big-endian index of the last raft log entry
//	                     written (absent: none; version 2 added it)
//	queues/<name>/records <message number> → queue.Record (version byte, then the id and
//	                      the other fields)
//	queues/<name>/bodies  <message number> → the message body (queue.EncodeBody: version
//	                      byte, target, nonce, payload)
//
// A message number (queue.Record.Num, 8 bytes big-endian) is the message's Seq when it was
// enqueued: numbers grow with time, so new messages append to the B+tree and a commit dirties
// a few pages instead of one random page per message.
//
// A message has exactly one record and one body; a queue's bucket stays when its messages are
// gone, so an empty queue is still listed after a restart. Every Save is one bbolt transaction,
// committed with fsync before it returns; SaveApplied writes the log index in the same one.
// Snapshot is a read transaction held until the copy is written (raft snapshots); Replace
// swaps in such a copy (written beside the file, checked, renamed).
//
// This package imports bus/queue and go.etcd.io/bbolt. It must not import bus/gateway, kv/,
// client/ or cmd/.
package boltstore
