package kvhttp

import (
	"net/http"
	"strconv"
	"time"

	"github.com/mahou-go/mahou/kv"
)

// errNoCluster answers membership routes on a handler built without a Cluster.
var errNoCluster = &apiError{Status: http.StatusNotImplemented, Code: "not_clustered",
	Message: "this server has no replication to manage"}

func memberJSONs(ms []kv.Member) []memberJSON {
	out := make([]memberJSON, len(ms))
	for i, m := range ms {
		out[i] = memberJSON{ID: m.ID, RaftAddr: m.RaftAddr, APIAddr: m.APIAddr, Voter: m.Voter,
			WantVoter: m.WantVoter, Leader: m.Leader, Reachable: m.Reachable, State: m.State, AppliedIndex: m.AppliedIndex}
	}
	return out
}

func (h *Handler) listMembers(w http.ResponseWriter, r *http.Request) (any, error) {
	if h.cfg.Cluster == nil {
		return nil, errNoCluster
	}
	cs, err := h.cfg.Cluster.ClusterStatus(r.Context(), true)
	if err != nil {
		return nil, err
	}
	return map[string]any{"leader_id": cs.LeaderID, "members": memberJSONs(cs.Members)}, nil
}

// addMemberRequest is the body of POST /v2/members.
type addMemberRequest struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	APIAddr  string `json:"api_addr"`
	// Voter defaults to true: the member gets a vote once it has caught up.
	Voter *bool `json:"voter"`
}

func (h *Handler) addMember(w http.ResponseWriter, r *http.Request) (any, error) {
	if h.cfg.Cluster == nil {
		return nil, errNoCluster
	}
	var req addMemberRequest
	if err := h.decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.ID == "" || req.RaftAddr == "" {
		return nil, badRequest("invalid_member", "give the new member's \"id\" and \"raft_addr\" (and its \"api_addr\")")
	}
	voter := req.Voter == nil || *req.Voter
	if err := h.cfg.Cluster.AddMember(r.Context(), req.ID, req.RaftAddr, req.APIAddr, voter); err != nil {
		return nil, err
	}
	return map[string]any{"id": req.ID, "added": true, "voter_when_caught_up": voter}, nil
}

func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request) (any, error) {
	if h.cfg.Cluster == nil {
		return nil, errNoCluster
	}
	id := r.PathValue("id")
	if err := h.cfg.Cluster.RemoveMember(r.Context(), id); err != nil {
		return nil, err
	}
	return map[string]any{"id": id, "removed": true}, nil
}

func (h *Handler) promoteMember(w http.ResponseWriter, r *http.Request) (any, error) {
	if h.cfg.Cluster == nil {
		return nil, errNoCluster
	}
	id := r.PathValue("id")
	if err := h.cfg.Cluster.PromoteMember(r.Context(), id); err != nil {
		return nil, err
	}
	return map[string]any{"id": id, "promoting": true}, nil
}

// snapshot streams a consistent copy of the state machine (a bbolt file).
func (h *Handler) snapshot(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Cluster == nil {
		h.writeError(w, r, errNoCluster)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	rev := h.store.Revision()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="crush-`+strconv.FormatInt(rev, 10)+`.db"`)
	setRevision(w, rev)
	sw := &startedWriter{w: w}
	if err := h.cfg.Cluster.Backup(r.Context(), sw); err != nil {
		if !sw.started {
			h.writeError(w, r, err)
			return
		}
		// headers are sent: the client sees a short body and a broken connection
		h.log.Error("snapshot stream failed", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// startedWriter records whether anything was written yet.
type startedWriter struct {
	w       http.ResponseWriter
	started bool
}

func (s *startedWriter) Write(p []byte) (int, error) {
	s.started = true
	return s.w.Write(p)
}
