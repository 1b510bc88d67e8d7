package kv

import (
	"time"
)

// DefaultFork is the fork a key lives in when none is named.
const DefaultFork = "default"

// Op is the operation that produced one rev of a key.
type Op uint8

// The operations. The numbers are stored on disk: never renumber them.
const (
	OpPut    Op = 1
	OpDelete Op = 2
	OpFork   Op = 3
	OpMerge  Op = 4
	OpRevert Op = 5
)

var opNames = map[Op]string{
	OpPut:    "put",
	OpDelete: "delete",
	OpFork:   "fork",
	OpMerge:  "merge",
	OpRevert: "revert",
}

func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return "unknown"
}

// Ancestor names a rev of the same key in another fork that this key was forked or merged from.
type Ancestor struct {
	Fork string `json:"fork"`
	Rev  uint64 `json:"rev"`
}

// Record is one key's state at one point in its history.
type Record struct {
	Key  string
	Fork string
	// Value is nil when Deleted.
	Value []byte
	// Rev is the key's per-key rev at this point.
	Rev uint64
	// Op produced this rev.
	Op Op
	// ModRevision is the store revision that wrote this rev.
	ModRevision int64
	// CreatedRevision is the store revision that created the key's current incarnation (the first
	// put after creation or after a delete).
	CreatedRevision int64
	// Time is the leader-stamped time of ModRevision.
	Time time.Time
	// Ancestors are newest first.
	Ancestors []Ancestor
	// Deleted marks a tombstone.
	Deleted bool
	// OldestRev is the lowest rev of the key still readable (older ones were compacted).
	OldestRev uint64
	// ReadRevision is the store revision the read was served at.
	ReadRevision int64
}

// HistoryEntry describes one rev of a key without its value.
type HistoryEntry struct {
	Rev       uint64
	Revision  int64
	Op        Op
	Time      time.Time
	Size      int
	Deleted   bool
	Ancestors []Ancestor
}

// Event is one change to one key, as a watcher sees it.
type Event struct {
	Type     Op
	Key      string
	Fork     string
	Rev      uint64
	Revision int64
	Time     time.Time
	Deleted  bool
	// Purged marks the erasure of the key's whole history (DELETE with purge).
	Purged bool
	// Value is the key's value after the change. It is nil for a delete, and nil with
	// ValueCompacted set when the rev's value was compacted away before it was read.
	Value          []byte
	ValueCompacted bool
}

// At chooses the point a read is served at. The zero value reads the newest state.
type At struct {
	// Rev, when HasRev, reads the key's own per-key rev.
	Rev    uint64
	HasRev bool
	// Revision, when > 0, reads the store as of that store revision.
	Revision int64
	// Time, when not zero, reads the store as of the newest revision committed at or before it.
	Time time.Time
}

// AtRev reads a per-key rev.
func AtRev(rev uint64) At { return At{Rev: rev, HasRev: true} }

// AtRevision reads the store as of a store revision.
func AtRevision(r int64) At { return At{Revision: r} }

// AtTime reads the store as of a time.
func AtTime(t time.Time) At { return At{Time: t} }

// ForkPoint records where a fork took some of its keys from.
type ForkPoint struct {
	// From is the source fork.
	From string
	// Key or Prefix names what was forked (exactly one is set; a whole-fork fork has Prefix "").
	Key      string
	Prefix   string
	IsPrefix bool
	// FromRevision is the store revision of the source that was forked.
	FromRevision int64
	// Revision is the store revision at which the fork happened.
	Revision int64
}

// ForkInfo describes one fork.
type ForkInfo struct {
	Name string
	// CreatedRevision is the revision at which the fork got its first key.
	CreatedRevision int64
	// Points are the fork points, oldest first.
	Points []ForkPoint
	// Keys counts live (not deleted) keys.
	Keys int
}

// KeysQuery selects keys of one fork.
type KeysQuery struct {
	Fork   string
	Prefix string
	// After skips keys <= After (paging).
	After string
	// Limit caps the page; the store applies its own maximum.
	Limit int
	// Revision, when > 0, lists the keys that existed at that revision.
	Revision int64
}

// KeysPage is one page of a key listing.
type KeysPage struct {
	Keys []string
	// More reports whether keys follow the last one returned.
	More bool
	// Revision is the store revision the listing was served at.
	Revision int64
}

// Status is the state machine's view of itself.
type Status struct {
	Revision          int64
	CompactedRevision int64
	AppliedIndex      uint64
	Keys              int
	DBSizeBytes       int64
	Retention         Retention
}

// Retention is the history retention policy. Zero fields are off.
type Retention struct {
	// KeepRevs keeps at most this many newest revs of every key.
	KeepRevs int `json:"keep_revs"`
	// KeepDuration keeps every revision younger than this.
	KeepDuration time.Duration `json:"keep_duration"`
}
