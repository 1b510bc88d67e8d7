package kv

import "time"

// Command is a deterministic mutation of the store. Commands carry everything they need: the
// leader stamps the time into the Proposal before it is replicated, so every replica applies the
// same command to the same state and reaches the same result.
type Command interface {
	// Kind is stable and stored in the replicated log: never renumber.
	Kind() CommandKind
}

// CommandKind is the type byte of a command in the replicated log.
type CommandKind uint8

// The command kinds. The numbers are stored in the replicated log: never renumber them.
const (
	KindPut            CommandKind = 1
	KindDelete         CommandKind = 2
	KindRevert         CommandKind = 3
	KindFork           CommandKind = 4
	KindMerge          CommandKind = 5
	KindTxn            CommandKind = 6
	KindCompact        CommandKind = 7
	KindSetRetention   CommandKind = 8
	KindApplyRetention CommandKind = 9
	KindSetMember      CommandKind = 10
	KindRemoveMember   CommandKind = 11
)

// Proposal is a command with the leader's clock reading.
type Proposal struct {
	Time time.Time
	Cmd  Command
}

// Precondition guards a single-key write (HTTP If-Match / If-None-Match).
type Precondition struct {
	// MatchRev, when HasMatchRev, requires the key to exist, not deleted, at exactly this rev.
	MatchRev    uint64
	HasMatchRev bool
	// MustNotExist requires the key to be absent or deleted.
	MustNotExist bool
}

// Put writes a value as a new rev.
type Put struct {
	Fork  string
	Key   string
	Value []byte
	If    Precondition
}

// Delete writes a tombstone, or with Purge erases the key's whole history.
type Delete struct {
	Fork  string
	Key   string
	If    Precondition
	Purge bool
}

// Revert writes the value the key had at ToRev as a new rev.
type Revert struct {
	Fork  string
	Key   string
	ToRev uint64
	If    Precondition
}

// Fork makes keys of From appear in To, sharing their history (copy-on-write).
type Fork struct {
	From string
	To   string
	// Key forks one key; with IsPrefix, every key starting with Prefix is forked instead.
	Key      string
	Prefix   string
	IsPrefix bool
	// Revision, when > 0, forks the source as it was at that store revision.
	Revision int64
	// Force allows forking onto keys that exist in To; their history is kept and the fork is
	// appended as a new rev.
	Force bool
}

// MergeStrategy chooses how Merge treats keys changed on both sides.
type MergeStrategy string

// The merge strategies.
const (
	// MergeThreeWay uses the last common point as base: fast-forwards when one side changed,
	// and reports a conflict (applying nothing) when both changed differently.
	MergeThreeWay MergeStrategy = "three-way"
	// MergeSourceWins is the original crush behaviour: the source value overwrites the target.
	MergeSourceWins MergeStrategy = "source-wins"
	// MergeTargetWins is three-way, with conflicting keys keeping the target's value.
	MergeTargetWins MergeStrategy = "target-wins"
)

// Merge brings changes from From into To.
type Merge struct {
	From     string
	To       string
	Key      string
	Prefix   string
	IsPrefix bool
	Strategy MergeStrategy
	// RequireTarget makes a missing target key an error (crush v1 semantics).
	RequireTarget bool
}

// CompareTarget is what a transaction comparison looks at.
type CompareTarget string

// The comparison targets.
const (
	CompareValue           CompareTarget = "value"
	CompareRev             CompareTarget = "rev"
	CompareModRevision     CompareTarget = "mod_revision"
	CompareCreatedRevision CompareTarget = "created_revision"
	CompareExists          CompareTarget = "exists"
)

// CompareOp is a comparison operator.
type CompareOp string

// The comparison operators.
const (
	CmpEqual    CompareOp = "="
	CmpNotEqual CompareOp = "!="
	CmpLess     CompareOp = "<"
	CmpGreater  CompareOp = ">"
)

// Compare is one condition of a transaction. A missing or deleted key has no value, rev -1,
// revisions 0 and exists false.
type Compare struct {
	Fork   string
	Key    string
	Target CompareTarget
	Op     CompareOp
	// Value is compared for CompareValue, Number for the numeric targets, Exists for CompareExists.
	Value  []byte
	Number int64
	Exists bool
}

// TxnOpType is the kind of one transaction operation.
type TxnOpType string

// The transaction operations.
const (
	TxnPut    TxnOpType = "put"
	TxnDelete TxnOpType = "delete"
	TxnGet    TxnOpType = "get"
)

// TxnOp is one operation of a transaction branch.
type TxnOp struct {
	Type  TxnOpType
	Fork  string
	Key   string
	Value []byte
}

// Txn applies Then when every comparison holds and Else otherwise, atomically, as one revision.
type Txn struct {
	Compare []Compare
	Then    []TxnOp
	Else    []TxnOp
}

// Compact discards history superseded before Revision, except what live forks still need.
type Compact struct {
	Revision int64
}

// SetRetention replaces the retention policy.
type SetRetention struct {
	Policy Retention
}

// ApplyRetention compacts according to the stored policy, using the proposal time as "now".
type ApplyRetention struct{}

// SetMember records a cluster member's API address and whether it should be a voter, so every
// node can forward to the leader and the leader can promote members once they caught up.
type SetMember struct {
	ID        string
	APIAddr   string
	WantVoter bool
}

// RemoveMember forgets a member.
type RemoveMember struct {
	ID string
}

// Kind implements Command.
func (SetMember) Kind() CommandKind { return KindSetMember }

// Kind implements Command.
func (RemoveMember) Kind() CommandKind { return KindRemoveMember }

// Kind implements Command.
func (Put) Kind() CommandKind { return KindPut }

// Kind implements Command.
func (Delete) Kind() CommandKind { return KindDelete }

// Kind implements Command.
func (Revert) Kind() CommandKind { return KindRevert }

// Kind implements Command.
func (Fork) Kind() CommandKind { return KindFork }

// Kind implements Command.
func (Merge) Kind() CommandKind { return KindMerge }

// Kind implements Command.
func (Txn) Kind() CommandKind { return KindTxn }

// Kind implements Command.
func (Compact) Kind() CommandKind { return KindCompact }

// Kind implements Command.
func (SetRetention) Kind() CommandKind { return KindSetRetention }

// Kind implements Command.
func (ApplyRetention) Kind() CommandKind { return KindApplyRetention }

// KeyResult reports what a multi-key command did to one key.
type KeyResult struct {
	Key string
	Rev uint64
	// Outcome is one of "forked", "added", "fast-forward", "merged", "deleted", "unchanged",
	// "kept-target", "overwritten".
	Outcome string
}

// TxnOpResult is the outcome of one transaction operation.
type TxnOpResult struct {
	Type TxnOpType
	Fork string
	Key  string
	// Rev is the rev written (put/delete) or read (get).
	Rev uint64
	// Found reports, for get, whether the key exists; Record holds it.
	Found  bool
	Record Record
}

// TxnResult is the outcome of a transaction.
type TxnResult struct {
	Succeeded bool
	Responses []TxnOpResult
}

// Result is the outcome of applying one command.
type Result struct {
	// Revision is the store revision after the command (unchanged when nothing was written).
	Revision int64
	// Rev is the rev written by a single-key command.
	Rev uint64
	// Keys lists per-key outcomes of Fork and Merge.
	Keys []KeyResult
	// Txn is set for transactions.
	Txn *TxnResult
	// CompactedRevision is the revision history is compacted to after the command.
	CompactedRevision int64
	// Err is the domain error that stopped the command; nothing was written when it is set.
	Err error
}
