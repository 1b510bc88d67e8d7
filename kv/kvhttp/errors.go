package kvhttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/mahou-go/mahou/kv"
)

// apiError is an error with its HTTP status, stable code and extra body fields.
type apiError struct {
	Status  int
	Code    string
	Message string
	Extra   map[string]any
}

func (e *apiError) Error() string { return e.Message }

// errBody is the JSON body of every v2 error.
func (e *apiError) body() map[string]any {
	b := map[string]any{"error": e.Code, "message": e.Message}
	for k, v := range e.Extra {
		b[k] = v
	}
	return b
}

func badRequest(code, format string, args ...any) error {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

// toAPIError is the one table from errors to statuses and codes.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var (
		pe  *kv.PreconditionError
		ce  *kv.ConflictError
		ee  *kv.ExistsError
		ie  *kv.InvalidError
		cpe *kv.CompactedError
		nle *kv.NotLeaderError
	)
	switch {
	case errors.As(err, &pe):
		extra := map[string]any{"current_rev": nil}
		msg := "the key does not exist: drop If-Match, or create it with If-None-Match: *"
		if pe.Exists {
			extra["current_rev"] = pe.CurrentRev
			msg = fmt.Sprintf("the key is at rev %d: read it again and retry with If-Match: %d", pe.CurrentRev, pe.CurrentRev)
		}
		return &apiError{http.StatusPreconditionFailed, "precondition_failed", msg, extra}
	case errors.As(err, &ce):
		list := make([]map[string]any, 0, len(ce.Conflicts))
		for _, c := range ce.Conflicts {
			m := map[string]any{"key": c.Key, "source_rev": c.SourceRev, "target_rev": c.TargetRev, "base_rev": nil}
			if c.HasBase {
				m["base_rev"] = c.BaseRev
			}
			list = append(list, m)
		}
		return &apiError{http.StatusConflict, "conflict", err.Error() +
			": nothing was applied; resolve the keys in the target, or merge with strategy source-wins or target-wins",
			map[string]any{"conflicts": list}}
	case errors.As(err, &ee):
		return &apiError{http.StatusConflict, "target_exists", err.Error() +
			": nothing was forked; pass \"force\": true to fork over them (their history is kept)",
			map[string]any{"keys": ee.Keys}}
	case errors.As(err, &ie):
		return &apiError{http.StatusBadRequest, ie.Code, ie.Message, nil}
	case errors.As(err, &cpe):
		return &apiError{http.StatusGone, "compacted", err.Error() + ": read a newer revision",
			map[string]any{"compacted_revision": cpe.CompactedRevision}}
	case errors.As(err, &nle):
		return &apiError{http.StatusServiceUnavailable, "not_leader", err.Error() + ": retry on the leader",
			map[string]any{"leader_id": nle.LeaderID}}
	}
	for _, row := range errorTable {
		if errors.Is(err, row.err) {
			return &apiError{Status: row.status, Code: row.code, Message: row.message}
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &apiError{Status: http.StatusGatewayTimeout, Code: "timeout",
			Message: "the request timed out: a write may or may not have been applied; read before retrying"}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "internal",
		Message: "internal error: " + err.Error() + " (this is a bug; the server log has details)"}
}

var errorTable = []struct {
	err     error
	status  int
	code    string
	message string
}{
	{kv.ErrNotFound, http.StatusNotFound, "not_found", "key not found"},
	{kv.ErrSourceNotFound, http.StatusNotFound, "source_not_found", "the source key does not exist in the source fork"},
	{kv.ErrTargetNotFound, http.StatusNotFound, "target_not_found", "the target key does not exist in the target fork"},
	{kv.ErrRevNotFound, http.StatusNotFound, "rev_not_found", "the key has no such rev yet: read its current rev first"},
	{kv.ErrFutureRevision, http.StatusBadRequest, "future_revision", "the revision is newer than the store's current revision"},
	{kv.ErrValueTooLarge, http.StatusRequestEntityTooLarge, "value_too_large", "the value is over the size limit"},
	{kv.ErrTooManyKeys, http.StatusRequestEntityTooLarge, "too_many_keys", "the command touches too many keys: split it by prefix"},
	{kv.ErrUnavailable, http.StatusServiceUnavailable, "unavailable", "the store is not available (starting, stopping, or without quorum): retry"},
	{kv.ErrNotLeader, http.StatusServiceUnavailable, "not_leader", "this node is not the leader: retry on the leader"},
	{kv.ErrNotMember, http.StatusServiceUnavailable, "not_member", "this node is not a member of the cluster (removed, or not joined yet): use another node"},
	{kv.ErrPeerAuth, http.StatusServiceUnavailable, "peer_auth_failed", "this node could not authenticate to its peers: give every node the same --peer-secret (and matching TLS certificates)"},
	{kv.ErrUnknownMember, http.StatusNotFound, "unknown_member", "no member has that id: list them with GET /v2/members"},
	{context.Canceled, 499, "canceled", "the request was canceled"},
}
