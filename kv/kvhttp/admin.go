package kvhttp

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/mahou-go/mahou/kv"
)

func (h *Handler) keys(w http.ResponseWriter, r *http.Request) (any, error) {
	q := r.URL.Query()
	fork, err := h.forkParam(r, "fork")
	if err != nil {
		return nil, err
	}
	prefix := q.Get("prefix")
	if err := kv.ValidatePrefix(prefix, h.limits.MaxKeyBytes); err != nil {
		return nil, err
	}
	limit, err := intParam(r, "limit", 1000)
	if err != nil {
		return nil, err
	}
	revision, err := intParam(r, "revision", 0)
	if err != nil {
		return nil, err
	}
	if err := h.linearize(r); err != nil {
		return nil, err
	}
	page, err := h.store.Keys(kv.KeysQuery{Fork: fork, Prefix: prefix, After: q.Get("after"), Limit: int(limit), Revision: revision})
	if err != nil {
		return nil, err
	}
	var next *string
	if page.More && len(page.Keys) > 0 {
		next = &page.Keys[len(page.Keys)-1]
	}
	setRevision(w, page.Revision)
	return map[string]any{"keys": page.Keys, "next": next, "revision": page.Revision}, nil
}

func (h *Handler) compact(w http.ResponseWriter, r *http.Request) (any, error) {
	var req struct {
		Revision int64 `json:"revision"`
	}
	if err := h.decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.Revision < 1 {
		return nil, badRequest("invalid_revision", "revision %d: give the store revision to compact to (>= 1)", req.Revision)
	}
	res, err := h.propose(r, kv.Compact{Revision: req.Revision})
	if err != nil {
		return nil, err
	}
	setRevision(w, res.Revision)
	return map[string]any{"revision": res.Revision, "compacted_revision": res.CompactedRevision}, nil
}

// retentionJSON is the retention policy on the wire; durations are Go duration strings.
type retentionJSON struct {
	KeepRevs     int    `json:"keep_revs"`
	KeepDuration string `json:"keep_duration"`
}

func toRetentionJSON(p kv.Retention) retentionJSON {
	d := ""
	if p.KeepDuration > 0 {
		d = p.KeepDuration.String()
	}
	return retentionJSON{KeepRevs: p.KeepRevs, KeepDuration: d}
}

// retentionResult is the body of the retention routes.
type retentionResult struct {
	retentionJSON
	Revision int64 `json:"revision"`
}

func (h *Handler) getRetention(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := h.linearize(r); err != nil {
		return nil, err
	}
	st, err := h.store.Status()
	if err != nil {
		return nil, err
	}
	setRevision(w, st.Revision)
	return retentionResult{toRetentionJSON(st.Retention), st.Revision}, nil
}

func (h *Handler) putRetention(w http.ResponseWriter, r *http.Request) (any, error) {
	var req retentionJSON
	if err := h.decodeBody(r, &req); err != nil {
		return nil, err
	}
	var p kv.Retention
	p.KeepRevs = req.KeepRevs
	if req.KeepDuration != "" {
		d, err := time.ParseDuration(req.KeepDuration)
		if err != nil {
			return nil, badRequest("invalid_retention", "keep_duration %q: want a duration such as 720h", req.KeepDuration)
		}
		p.KeepDuration = d
	}
	if p.KeepRevs < 0 || p.KeepDuration < 0 {
		return nil, badRequest("invalid_retention", "retention values must be >= 0 (0 turns a policy off)")
	}
	res, err := h.propose(r, kv.SetRetention{Policy: p})
	if err != nil {
		return nil, err
	}
	setRevision(w, res.Revision)
	return retentionResult{toRetentionJSON(p), res.Revision}, nil
}

// statusBarrier bounds the read barrier of /v2/status: a node that cannot reach the leader
// still answers, with its local state.
const statusBarrier = time.Second

func (h *Handler) status(w http.ResponseWriter, r *http.Request) (any, error) {
	linearized := false
	if c := r.URL.Query().Get("consistency"); c != "serializable" && c != "s" {
		ctx, cancel := context.WithTimeout(r.Context(), statusBarrier)
		linearized = h.store.Linearize(ctx) == nil
		cancel()
	}
	st, err := h.store.Status()
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"version":            h.cfg.Version,
		"revision":           st.Revision,
		"compacted_revision": st.CompactedRevision,
		"applied_index":      st.AppliedIndex,
		"keys":               st.Keys,
		"db_size_bytes":      st.DBSizeBytes,
		"retention":          toRetentionJSON(st.Retention),
		// linearized reports whether the numbers reflect every write acknowledged before the
		// request (false: this node's local view, e.g. cut off from the leader)
		"linearized": linearized,
	}
	if h.cfg.Cluster != nil {
		askMembers := r.URL.Query().Get("members") != "false"
		cs, err := h.cfg.Cluster.ClusterStatus(r.Context(), askMembers)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(clusterJSON(cs))
		if err != nil {
			return nil, err
		}
		out["raft"] = json.RawMessage(b)
	}
	setRevision(w, st.Revision)
	return out, nil
}

type memberJSON struct {
	ID           string `json:"id"`
	RaftAddr     string `json:"raft_addr"`
	APIAddr      string `json:"api_addr"`
	Voter        bool   `json:"voter"`
	WantVoter    bool   `json:"want_voter"`
	Leader       bool   `json:"leader"`
	Reachable    bool   `json:"reachable"`
	State        string `json:"state"`
	AppliedIndex uint64 `json:"applied_index"`
}

func clusterJSON(cs kv.ClusterStatus) map[string]any {
	members := memberJSONs(cs.Members)
	return map[string]any{
		"node_id": cs.NodeID, "state": cs.State, "leader_id": cs.LeaderID, "leader_addr": cs.LeaderAddr,
		"term": cs.Term, "commit_index": cs.CommitIndex, "applied_index": cs.AppliedIndex,
		"last_log_index": cs.LastLogIndex, "members": members,
	}
}
