// Package raftnode replicates crush's state machine with hashicorp/raft. It is the only package of
// the kv tree that imports hashicorp/raft: it owns the FSM adapter over boltstore, the command
// codec of the replicated log, snapshots, bootstrap and membership, and linearizable reads.
//
// A single node is a cluster of one voter on the same code path as three or five.
//
// Durability: the raft log (raft-boltdb, its own bbolt file, fsynced on every append) is the
// durability point. The state machine applies committed entries in batches, one bbolt
// transaction (fsynced) per batch, and stores the last applied index in that same transaction.
// On restart raft replays the log after its last snapshot; entries at or below the stored
// applied index are skipped, so the state machine never applies a command twice and never
// needs to be restored from a snapshot it already contains (NoSnapshotRestoreOnStart).
//
// It must not import kv/kvhttp or anything under cmd/.
package raftnode
