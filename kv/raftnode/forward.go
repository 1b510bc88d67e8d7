package raftnode

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/mahou-go/mahou/kv"
)

// The internal routes peers call on each other, under the API address. They are signed with the
// peer secret (see peer.go).
const (
	pathPropose   = "/v2/internal/propose"
	pathReadIndex = "/v2/internal/readindex"
	pathMembers   = "/v2/internal/members"
)

// forwardAttempts bounds how often a follower retries a forward while leadership moves.
const forwardAttempts = 5

// errWire is a domain error on the wire between nodes.
type errWire struct {
	Kind              string
	Message           string
	Code              string
	Exists            bool
	CurrentRev        uint64
	Conflicts         []kv.Conflict
	Keys              []string
	CompactedRevision int64
}

// resultWire is a kv.Result on the wire between nodes.
type resultWire struct {
	Revision  int64
	Compacted int64
	Rev       uint64
	Keys      []kv.KeyResult
	Txn       *kv.TxnResult
	Err       *errWire
}

var sentinelKinds = map[string]error{
	"not_found": kv.ErrNotFound, "source_not_found": kv.ErrSourceNotFound, "target_not_found": kv.ErrTargetNotFound,
	"rev_not_found": kv.ErrRevNotFound, "future_revision": kv.ErrFutureRevision, "too_many_keys": kv.ErrTooManyKeys,
	"value_too_large": kv.ErrValueTooLarge, "unavailable": kv.ErrUnavailable, "not_member": kv.ErrNotMember,
	"unknown_member": kv.ErrUnknownMember,
}

func toErrWire(err error) *errWire {
	if err == nil {
		return nil
	}
	var (
		pe  *kv.PreconditionError
		ce  *kv.ConflictError
		ee  *kv.ExistsError
		ie  *kv.InvalidError
		cpe *kv.CompactedError
	)
	switch {
	case errors.As(err, &pe):
		return &errWire{Kind: "precondition", Exists: pe.Exists, CurrentRev: pe.CurrentRev}
	case errors.As(err, &ce):
		return &errWire{Kind: "conflict", Conflicts: ce.Conflicts}
	case errors.As(err, &ee):
		return &errWire{Kind: "exists", Keys: ee.Keys}
	case errors.As(err, &ie):
		return &errWire{Kind: "invalid", Code: ie.Code, Message: ie.Message}
	case errors.As(err, &cpe):
		return &errWire{Kind: "compacted", CompactedRevision: cpe.CompactedRevision}
	}
	for kind, s := range sentinelKinds {
		if errors.Is(err, s) {
			return &errWire{Kind: kind}
		}
	}
	return &errWire{Kind: "other", Message: err.Error()}
}

func (w *errWire) toError() error {
	if w == nil {
		return nil
	}
	switch w.Kind {
	case "precondition":
		return &kv.PreconditionError{Exists: w.Exists, CurrentRev: w.CurrentRev}
	case "conflict":
		return &kv.ConflictError{Conflicts: w.Conflicts}
	case "exists":
		return &kv.ExistsError{Keys: w.Keys}
	case "invalid":
		return &kv.InvalidError{Code: w.Code, Message: w.Message}
	case "compacted":
		return &kv.CompactedError{CompactedRevision: w.CompactedRevision}
	}
	if s, ok := sentinelKinds[w.Kind]; ok {
		return s
	}
	return fmt.Errorf("leader: %s", w.Message)
}

// forwardPropose sends a command to the leader's API and returns its result. It retries while
// the request provably did not reach a leader (connection refused, "not the leader") until a
// leader answers or forwardWait passes; a failure after the request was sent is returned as is,
// since the command may have been applied.
func (n *Node) forwardPropose(ctx context.Context, cmd kv.Command) (kv.Result, error) {
	body, err := msgpack.Marshal(cmd)
	if err != nil {
		return kv.Result{}, fmt.Errorf("forward %T: %w", cmd, err)
	}
	body = append([]byte{codecVersion, byte(cmd.Kind())}, body...)
	deadline := time.Now().Add(n.forwardWait())
	var lastErr error
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		leader, err := n.leaderAPI(ctx)
		if errors.Is(err, errLeaderUnregistered) {
			lastErr = err
			if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
				return kv.Result{}, err
			}
			continue
		}
		if err != nil {
			return kv.Result{}, err
		}
		b, status, err := n.peerCall(ctx, http.MethodPost, leader, pathPropose, body)
		switch {
		case err != nil && isDialError(err):
			lastErr = err
		case err != nil:
			return kv.Result{}, fmt.Errorf("forward to leader %s (the write may or may not be applied): %w: %v", leader, kv.ErrUnavailable, err)
		case status == http.StatusOK:
			var rw resultWire
			if err := msgpack.Unmarshal(b, &rw); err != nil {
				return kv.Result{}, fmt.Errorf("forward to leader: decode result: %w", err)
			}
			return kv.Result{Revision: rw.Revision, CompactedRevision: rw.Compacted, Rev: rw.Rev, Keys: rw.Keys, Txn: rw.Txn, Err: rw.Err.toError()}, nil
		case status == http.StatusServiceUnavailable:
			lastErr = fmt.Errorf("leader %s: %s", leader, b)
		case status == http.StatusForbidden:
			return kv.Result{}, fmt.Errorf("forward to leader %s: %w: %s", leader, kv.ErrNotMember, b)
		case status == http.StatusUnauthorized:
			return kv.Result{}, fmt.Errorf("forward to leader %s: %w: %s", leader, errPeerAuth, b)
		default:
			return kv.Result{}, fmt.Errorf("forward to leader %s: status %d: %s", leader, status, b)
		}
		if err := sleepCtx(ctx, time.Duration(min(attempt+1, 5))*20*time.Millisecond); err != nil {
			return kv.Result{}, err
		}
	}
	return kv.Result{}, fmt.Errorf("forward to leader: %w: %v", kv.ErrUnavailable, lastErr)
}

// forwardWait is how long a follower keeps trying to reach a leader: long enough for an
// election after a leader died.
func (n *Node) forwardWait() time.Duration {
	return max(leaderWait, 4*(n.cfg.HeartbeatTimeout+n.cfg.ElectionTimeout))
}

// isDialError reports whether a request failed before any byte was sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// leaderAPI returns the API address of the current leader, waiting briefly for one.
func (n *Node) leaderAPI(ctx context.Context) (string, error) {
	if err := n.awaitLeader(ctx); err != nil {
		return "", err
	}
	_, id := n.raft.LeaderWithID()
	if string(id) == n.cfg.NodeID {
		return n.cfg.APIAddr, nil
	}
	members, err := n.store.Members()
	if err != nil {
		return "", err
	}
	for _, m := range members {
		if m.ID == string(id) && m.APIAddr != "" {
			return m.APIAddr, nil
		}
	}
	return "", fmt.Errorf("forward to leader %s: %w", id, errLeaderUnregistered)
}

// errLeaderUnregistered is the short window after an election before the new leader has
// recorded its API address; callers retry.
var errLeaderUnregistered = fmt.Errorf("its API address is not registered yet: %w", kv.ErrUnavailable)

// remoteReadIndex asks the leader for a commit index that reflects every acknowledged write,
// after it confirmed its leadership; it retries (reads are safe to retry) through an election.
func (n *Node) remoteReadIndex(ctx context.Context) (uint64, error) {
	deadline := time.Now().Add(n.forwardWait())
	var lastErr error
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		leader, err := n.leaderAPI(ctx)
		if err != nil && !errors.Is(err, errLeaderUnregistered) {
			return 0, err
		}
		var b []byte
		status := 0
		if err == nil {
			b, status, err = n.peerCall(ctx, http.MethodGet, leader, pathReadIndex, nil)
		}
		if err == nil && status == http.StatusOK && len(b) == 8 {
			return binary.BigEndian.Uint64(b), nil
		}
		if err == nil && status == http.StatusForbidden {
			return 0, fmt.Errorf("read index from leader %s: %w: %s", leader, kv.ErrNotMember, b)
		}
		if err == nil && status == http.StatusUnauthorized {
			return 0, fmt.Errorf("read index from leader %s: %w: %s", leader, errPeerAuth, b)
		}
		lastErr = fmt.Errorf("leader %s: status %d, %v: %s", leader, status, err, b)
		if err := sleepCtx(ctx, time.Duration(min(attempt+1, 5))*20*time.Millisecond); err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("read index from leader: %w: %v", kv.ErrUnavailable, lastErr)
}

// InternalHandler serves the peer routes; the server mounts it under /v2/internal/.
func (n *Node) InternalHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+pathPropose, n.servePropose)
	mux.HandleFunc("GET "+pathReadIndex, n.serveReadIndex)
	mux.HandleFunc("POST "+pathMembers, n.serveMembers)
	return mux
}

// readMember reads an internal request that only current members may make.
func (n *Node) readMember(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, ok := n.readPeer(w, r)
	if !ok {
		return nil, false
	}
	if _, member := n.server(r.Header.Get(nodeHeader)); !member {
		http.Error(w, "node "+strconv.Quote(r.Header.Get(nodeHeader))+" is not a member of this cluster", http.StatusForbidden)
		return nil, false
	}
	return body, true
}

// readPeer reads and authenticates an internal request.
func (n *Node) readPeer(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPeerBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, false
	}
	if err := n.verify(r, body); err != nil {
		n.log.Warn("refused internal request", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

func (n *Node) servePropose(w http.ResponseWriter, r *http.Request) {
	body, ok := n.readMember(w, r)
	if !ok {
		return
	}
	if len(body) < 2 || body[0] != codecVersion {
		http.Error(w, "unknown command encoding", http.StatusBadRequest)
		return
	}
	cmd, err := decodeCommand(kv.CommandKind(body[1]), body[2:])
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if n.raft.State() != raft.Leader {
		http.Error(w, "not the leader", http.StatusServiceUnavailable)
		return
	}
	res, err := n.Propose(r.Context(), cmd)
	if err != nil {
		if errors.Is(err, kv.ErrNotLeader) || errors.Is(err, kv.ErrUnavailable) {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b, err := msgpack.Marshal(resultWire{Revision: res.Revision, Compacted: res.CompactedRevision, Rev: res.Rev, Keys: res.Keys, Txn: res.Txn, Err: toErrWire(res.Err)})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/msgpack")
	_, _ = w.Write(b)
}

func (n *Node) serveReadIndex(w http.ResponseWriter, r *http.Request) {
	if _, ok := n.readMember(w, r); !ok {
		return
	}
	if n.raft.State() != raft.Leader {
		http.Error(w, "not the leader", http.StatusServiceUnavailable)
		return
	}
	if err := n.raft.VerifyLeader().Error(); err != nil {
		http.Error(w, "not the leader: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write(binary.BigEndian.AppendUint64(nil, n.raft.CommitIndex()))
}

// memberRequest is the body of the internal members route.
type memberRequest struct {
	Op       string `json:"op"`
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	APIAddr  string `json:"api_addr"`
	Voter    bool   `json:"voter"`
}

func (n *Node) serveMembers(w http.ResponseWriter, r *http.Request) {
	body, ok := n.readPeer(w, r)
	if !ok {
		return
	}
	var req memberRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var err error
	switch req.Op {
	case "add":
		err = n.AddMember(r.Context(), req.ID, req.RaftAddr, req.APIAddr, req.Voter)
	case "remove":
		err = n.RemoveMember(r.Context(), req.ID)
	case "promote":
		err = n.PromoteMember(r.Context(), req.ID)
	default:
		http.Error(w, "unknown op "+strconv.Quote(req.Op), http.StatusBadRequest)
		return
	}
	if err != nil {
		status := http.StatusInternalServerError
		switch {
		case errors.Is(err, kv.ErrNotLeader), errors.Is(err, kv.ErrUnavailable):
			status = http.StatusServiceUnavailable
		case errors.Is(err, kv.ErrUnknownMember):
			status = http.StatusNotFound
		case errors.Is(err, kv.ErrInvalidArgument):
			status = http.StatusBadRequest
		}
		http.Error(w, err.Error(), status)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
