// Package kv is the domain of crush, the time-traveling key-value store: the nouns (keys, forks,
// revisions, records, history entries, events), the commands that mutate the store, the read
// interface every backend implements, and the sentinel errors.
//
// Vocabulary, used the same way everywhere:
//
//   - A key lives in a fork; (fork, key) names one history. The default fork is "default".
//   - A revision is store-wide, etcd-style: every committed command that changes something gets
//     the next revision (a transaction or a prefix fork is one revision). Revision 0 is the empty
//     store.
//   - A rev is per (fork, key), as in the original crush: 0 at creation, +1 per write, delete,
//     fork, merge or revert. Revs never go backwards; history is append-only until compaction or
//     purge.
//
// This package imports the standard library only. Implementations live in subpackages named for
// what they use: boltstore (bbolt), raftnode (hashicorp/raft), kvhttp (net/http).
package kv
