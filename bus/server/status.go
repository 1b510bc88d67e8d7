package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/mahou-go/mahou/bus/queue/raftqueue"
	"github.com/mahou-go/mahou/bus/wire"
)

// statusRoute is GET /api/v1/cluster. A clustered node serves it from bus/cluster; a single
// node serves the same shape here: itself as the only member, and its queue group of one.
const statusRoute = "GET /api/v1/cluster"

func (s *Server) singleStatus(id string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		self := map[string]any{"id": id, "self": true, "state": "alive", "api_addr": s.gw.Addr(), "cluster_addr": "",
			"clients": int64(len(s.gw.LocalClients())), "link": "self"}
		out := map[string]any{"node": id, "cluster_addr": "", "health_score": int64(0), "members": []any{self}}
		if s.raft != nil {
			out["queues"] = s.raft.Status()
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// removeRoute removes a node that is gone for good from the queue group, so that the group
// stops counting it in its quorum. It runs on the group's leader (other nodes pass it on). A
// member that is still alive is added back within a second: stop it first.
const removeRoute = "DELETE /api/v1/cluster/members/{id}"

func (s *Server) removeMember(forward http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, self := s.raft.Leader(); !self {
			forward.ServeHTTP(w, r)
			return
		}
		id := r.PathValue("id")
		err := s.raft.RemoveServer(id)
		switch {
		case errors.Is(err, raftqueue.ErrUnknownServer):
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "unknown_member",
				"message": fmt.Sprintf("%s is not in the queue group: see GET /api/v1/cluster", id)})
		case err != nil:
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "unavailable",
				"message": "the queue group did not remove the member (leader change?): retry: " + err.Error()})
		default:
			s.log.Info("removed a member from the queue group", "node", id)
			writeJSON(w, http.StatusOK, map[string]any{"removed": id})
		}
	})
}

// notClustered answers removeRoute on a single node, which has no other member to remove.
func notClustered() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusConflict, map[string]any{"error": "not_clustered",
			"message": fmt.Sprintf("this node runs alone (no --cluster-addr), so %s is not a member to remove", r.PathValue("id"))})
	})
}

func writeJSON(w http.ResponseWriter, status int, v map[string]any) {
	b, err := wire.AppendJSON(nil, v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
