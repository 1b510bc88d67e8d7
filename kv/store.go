package kv

import (
	"context"
	"io"
)

// Reader reads committed state. Implementations are safe for concurrent use and never return
// data that is not yet durable.
type Reader interface {
	// Get reads (fork, key) at a point. A key that never existed (or was purged) is ErrNotFound;
	// a deleted key is returned with Deleted set and no error, so callers can tell the two apart.
	// A per-key rev above the current one is ErrRevNotFound; a point whose history was compacted
	// is a *CompactedError; a store revision above the current one is ErrFutureRevision.
	Get(fork, key string, at At) (Record, error)
	// Values returns the values of revs lo..hi (inclusive, ascending) of (fork, key); a deleted
	// rev has a nil value. Errors as Get.
	Values(fork, key string, lo, hi uint64) ([][]byte, error)
	// History lists revs newest first, starting below beforeRev (0: from the newest), at most
	// limit of them; more reports whether older revs remain.
	History(fork, key string, beforeRev uint64, limit int) (entries []HistoryEntry, more bool, err error)
	// Keys lists keys of one fork in byte order.
	Keys(q KeysQuery) (KeysPage, error)
	// Forks lists every fork that has or had keys, "default" first, the rest by name.
	Forks() ([]ForkInfo, error)
	// Events returns up to limit events of revisions >= from that match (nil matches all), in
	// revision order, and the revision to continue from. A from below the compacted revision is
	// a *CompactedError.
	Events(from int64, limit int, match func(fork, key string) bool) (events []Event, next int64, err error)
	// Status describes the state machine.
	Status() (Status, error)
	// Revision is the current store revision.
	Revision() int64
}

// Store is the whole store as the API sees it: reads, replicated writes and change notification.
type Store interface {
	Reader
	// Propose replicates a command and returns its result once it is applied and durable. A
	// domain failure (precondition, conflict, not found) is in Result.Err; the error return is
	// for failures to replicate (ErrNotLeader, ErrUnavailable, context errors).
	Propose(ctx context.Context, cmd Command) (Result, error)
	// Linearize returns once a read issued after it will observe every write acknowledged before
	// it was called (a read barrier).
	Linearize(ctx context.Context) error
	// Changed returns a channel closed at the next committed change.
	Changed() <-chan struct{}
}

// Member is one server of the replication group.
type Member struct {
	ID       string
	RaftAddr string
	// APIAddr is the member's HTTP API address, as it registered it ("" until it did).
	APIAddr string
	Voter   bool
	// WantVoter is set for members that become voters once they caught up.
	WantVoter bool
	Leader    bool
	// Reachable, State and AppliedIndex are what the member answered when asked for its status.
	Reachable    bool
	State        string
	AppliedIndex uint64
}

// MemberRecord is a member as the replicated registry stores it.
type MemberRecord struct {
	ID        string
	APIAddr   string
	WantVoter bool
}

// ClusterStatus is a replica's view of replication.
type ClusterStatus struct {
	NodeID       string
	State        string
	LeaderID     string
	LeaderAddr   string
	Term         uint64
	CommitIndex  uint64
	AppliedIndex uint64
	LastLogIndex uint64
	Members      []Member
}

// Cluster reports on and changes replication.
type Cluster interface {
	// ClusterStatus is this node's view; with askMembers, each member's answer to a status
	// query fills its Reachable, State and AppliedIndex.
	ClusterStatus(ctx context.Context, askMembers bool) (ClusterStatus, error)
	// AddMember adds a server as a non-voter; with voter set, the leader promotes it once it has
	// caught up. Followers forward to the leader.
	AddMember(ctx context.Context, id, raftAddr, apiAddr string, voter bool) error
	// RemoveMember removes a server; a removed node stops serving.
	RemoveMember(ctx context.Context, id string) error
	// PromoteMember makes a non-voter a voter once it has caught up.
	PromoteMember(ctx context.Context, id string) error
	// Backup writes a consistent copy of the state machine to w.
	Backup(ctx context.Context, w io.Writer) error
}
