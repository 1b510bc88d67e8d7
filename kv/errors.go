package kv

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Compare with errors.Is; the HTTP layer maps each to one status and code.
var (
	ErrNotFound           = errors.New("key not found")
	ErrSourceNotFound     = errors.New("source key not found")
	ErrTargetNotFound     = errors.New("target key not found")
	ErrRevNotFound        = errors.New("rev not found")
	ErrCompacted          = errors.New("revision compacted")
	ErrFutureRevision     = errors.New("revision is in the future")
	ErrPreconditionFailed = errors.New("precondition failed")
	ErrConflict           = errors.New("merge conflict")
	ErrTargetExists       = errors.New("target key exists")
	ErrInvalidArgument    = errors.New("invalid argument")
	ErrValueTooLarge      = errors.New("value too large")
	ErrKeyTooLarge        = errors.New("key too large")
	ErrNotLeader          = errors.New("not the leader")
	ErrUnavailable        = errors.New("store unavailable")
	ErrTooManyKeys        = errors.New("too many keys in one command")
	ErrNotMember          = errors.New("this node is not a member of the cluster")
	ErrUnknownMember      = errors.New("no such member")
	ErrPeerAuth           = errors.New("peer authentication failed")
)

// PreconditionError reports a failed If-Match / If-None-Match.
type PreconditionError struct {
	// Exists is false when the key is absent or deleted; CurrentRev is meaningful otherwise.
	Exists     bool
	CurrentRev uint64
}

func (e *PreconditionError) Error() string {
	if !e.Exists {
		return "precondition failed: key does not exist"
	}
	return fmt.Sprintf("precondition failed: key is at rev %d", e.CurrentRev)
}

// Unwrap makes errors.Is(err, ErrPreconditionFailed) hold.
func (e *PreconditionError) Unwrap() error { return ErrPreconditionFailed }

// Conflict is one key that changed differently on both sides of a merge.
type Conflict struct {
	Key string
	// BaseRev is the source's rev at the last common point; SourceRev and TargetRev are current.
	BaseRev   uint64
	SourceRev uint64
	TargetRev uint64
	// HasBase is false when the two keys share no history.
	HasBase bool
}

// ConflictError lists the conflicting keys of a merge that applied nothing.
type ConflictError struct {
	Conflicts []Conflict
}

func (e *ConflictError) Error() string {
	keys := make([]string, 0, len(e.Conflicts))
	for _, c := range e.Conflicts {
		keys = append(keys, c.Key)
	}
	return fmt.Sprintf("merge conflict on %d key(s): %s", len(keys), strings.Join(keys, ", "))
}

// Unwrap makes errors.Is(err, ErrConflict) hold.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// ExistsError lists target keys that a fork would overwrite.
type ExistsError struct {
	Keys []string
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("target exists: %s", strings.Join(e.Keys, ", "))
}

// Unwrap makes errors.Is(err, ErrTargetExists) hold.
func (e *ExistsError) Unwrap() error { return ErrTargetExists }

// InvalidError is a bad argument with a stable code (e.g. "invalid_key") and a message that
// says what to send instead.
type InvalidError struct {
	Code    string
	Message string
}

func (e *InvalidError) Error() string { return e.Message }

// Unwrap makes errors.Is(err, ErrInvalidArgument) hold.
func (e *InvalidError) Unwrap() error { return ErrInvalidArgument }

// Invalid builds an InvalidError.
func Invalid(code, format string, args ...any) error {
	return &InvalidError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CompactedError says which revision the history was compacted to.
type CompactedError struct {
	CompactedRevision int64
}

func (e *CompactedError) Error() string {
	return fmt.Sprintf("revision compacted: history before revision %d is gone", e.CompactedRevision)
}

// Unwrap makes errors.Is(err, ErrCompacted) hold.
func (e *CompactedError) Unwrap() error { return ErrCompacted }

// NotLeaderError names the leader, when known, so a follower can forward.
type NotLeaderError struct {
	LeaderID   string
	LeaderAddr string
}

func (e *NotLeaderError) Error() string {
	if e.LeaderAddr == "" {
		return "not the leader: no leader is known"
	}
	return fmt.Sprintf("not the leader: leader is %s at %s", e.LeaderID, e.LeaderAddr)
}

// Unwrap makes errors.Is(err, ErrNotLeader) hold.
func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }
