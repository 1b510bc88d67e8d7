// Package raftqueue replicates the durable queues with hashicorp/raft: it is the only importer
// of raft in bus/. Every node runs one replica of the queue group: a queue.Broker whose
// commands go through the raft log (queue.Broker.Replicate), an FSM that hands committed
// entries to the broker (queue.Broker.ApplyLog, which writes them to the node's queues.db with
// the log index), and snapshots copied from a bbolt read transaction. The leader's broker
// dispatches; the others follow, and their brokers step in when raft elects them (after a
// barrier, so that they apply everything committed before).
//
// Raft's log is raft-boltdb in <data-dir>/raft/raft.db (every append fsynced), snapshots in
// <data-dir>/raft/snapshots. On restart raft replays the log after its last snapshot and the
// broker skips the entries its store already holds (NoSnapshotRestoreOnStart). Raft talks over
// authenticated peer connections on the nodes' API ports (bus/internal/peer, protocol
// "raft.v1"); a node's raft address is its API address. A single node is a group of one voter,
// on the same code path, except that its transport is raft's in-memory one (New with a nil hub):
// it takes no peer connections, so nobody can speak raft to it. The leader adds every live cluster member as a voter; removing one is
// explicit (RemoveServer).
//
// This package imports bus/queue, bus/internal/peer, hashicorp/raft, raft-boltdb/v2,
// go-hclog and bbolt. It must not import bus/gateway, bus/cluster, kv/, client/ or cmd/.
package raftqueue
