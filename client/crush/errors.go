package crush

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Sentinel errors. An *Error matches one of them with errors.Is when its code (or, for the
// broad kinds, its status) says so.
var (
	// ErrNotFound: the key does not exist, or is deleted (code not_found).
	ErrNotFound = errors.New("key not found")
	// ErrSourceNotFound: the source key of a merge does not exist (source_not_found); a fork of
	// a missing key is ErrNotFound.
	ErrSourceNotFound = errors.New("source key not found")
	// ErrTargetNotFound: the target key of a v1 merge does not exist (target_not_found).
	ErrTargetNotFound = errors.New("target key not found")
	// ErrRevNotFound: the key has no such rev (rev_not_found).
	ErrRevNotFound = errors.New("rev not found")
	// ErrPreconditionFailed: If-Match or If-None-Match did not hold (precondition_failed).
	ErrPreconditionFailed = errors.New("precondition failed")
	// ErrConflict: a three-way merge found keys changed on both sides and applied nothing
	// (conflict).
	ErrConflict = errors.New("merge conflict")
	// ErrTargetExists: a fork would overwrite keys of the target fork (target_exists).
	ErrTargetExists = errors.New("target exists")
	// ErrCompacted: the revision asked for was compacted away (compacted, 410).
	ErrCompacted = errors.New("revision compacted")
	// ErrInvalidArgument: the request was refused as malformed (any 400).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrTooLarge: a value, body or command is over a limit (any 413).
	ErrTooLarge = errors.New("too large")
	// ErrNotLeader: the node is not the leader (not_leader, 503).
	ErrNotLeader = errors.New("not the leader")
	// ErrUnavailable: the store cannot serve now (unavailable, 503).
	ErrUnavailable = errors.New("store unavailable")
	// ErrTimeout: the server gave up waiting; a write may or may not have been applied
	// (timeout, 504).
	ErrTimeout = errors.New("server timeout")
)

// codeSentinels maps stable codes to the sentinel they match.
var codeSentinels = map[string]error{
	"not_found":           ErrNotFound,
	"source_not_found":    ErrSourceNotFound,
	"target_not_found":    ErrTargetNotFound,
	"rev_not_found":       ErrRevNotFound,
	"precondition_failed": ErrPreconditionFailed,
	"conflict":            ErrConflict,
	"target_exists":       ErrTargetExists,
	"compacted":           ErrCompacted,
	"not_leader":          ErrNotLeader,
	"unavailable":         ErrUnavailable,
	"timeout":             ErrTimeout,
}

// Error is an error answer of the API.
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the stable error code, e.g. "not_found" or "precondition_failed".
	Code string
	// Message says what happened and what to do.
	Message string
	// CurrentRev is the key's rev when a precondition failed on an existing key; nil when the
	// key did not exist.
	CurrentRev *uint64
	// Conflicts lists the conflicting keys of a merge.
	Conflicts []Conflict
	// Keys lists the target keys a fork would have overwritten.
	Keys []string
	// CompactedRevision is the revision history was compacted to (code compacted).
	CompactedRevision int64
	// Deleted and Rev are set when a read found a tombstone: the key was deleted at Rev.
	Deleted bool
	Rev     uint64
	// LeaderID names the leader when the code is not_leader and a leader is known.
	LeaderID string
	// Body holds every field of the JSON body, including those named above.
	Body map[string]json.RawMessage
}

// Conflict is one key that changed differently on both sides of a merge.
type Conflict struct {
	Key string `json:"key"`
	// BaseRev is the source's rev at the last common point; nil when the keys share no history.
	BaseRev   *uint64 `json:"base_rev"`
	SourceRev uint64  `json:"source_rev"`
	TargetRev uint64  `json:"target_rev"`
}

func (e *Error) Error() string {
	if e.Code == "" {
		return e.Message
	}
	return e.Message + " (" + e.Code + ")"
}

// Is matches the sentinel errors of this package.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrInvalidArgument:
		return e.StatusCode == http.StatusBadRequest
	case ErrTooLarge:
		return e.StatusCode == http.StatusRequestEntityTooLarge
	}
	s, ok := codeSentinels[e.Code]
	return ok && s == target
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 1 << 20

// readError turns an error answer into an *Error and closes its body.
func readError(resp *http.Response) *Error {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &Error{StatusCode: resp.StatusCode}
	var body struct {
		Code              string     `json:"error"`
		Message           string     `json:"message"`
		CurrentRev        *uint64    `json:"current_rev"`
		Conflicts         []Conflict `json:"conflicts"`
		Keys              []string   `json:"keys"`
		CompactedRevision int64      `json:"compacted_revision"`
		Deleted           bool       `json:"deleted"`
		Rev               uint64     `json:"rev"`
		LeaderID          string     `json:"leader_id"`
	}
	if json.Unmarshal(raw, &body) != nil || json.Unmarshal(raw, &e.Body) != nil || body.Code == "" {
		e.Code = "http_" + strings.ToLower(strings.ReplaceAll(http.StatusText(resp.StatusCode), " ", "_"))
		e.Message = fmt.Sprintf("the server answered %s", resp.Status)
		if text := strings.TrimSpace(string(raw)); text != "" {
			e.Message += ": " + truncate(text, 200)
		}
		return e
	}
	e.Code, e.Message, e.CurrentRev, e.Conflicts = body.Code, body.Message, body.CurrentRev, body.Conflicts
	e.Keys, e.CompactedRevision, e.Deleted, e.Rev, e.LeaderID = body.Keys, body.CompactedRevision, body.Deleted, body.Rev, body.LeaderID
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
