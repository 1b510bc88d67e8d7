package cluster

import (
	"net/http"
	"slices"
	"strings"

	"github.com/hashicorp/memberlist"

	"github.com/mahou-go/mahou/bus/wire"
)

// statusRoute shows the members and their health (behind the gateway's /api/v1 auth).
const statusRoute = "GET /api/v1/cluster"

// Member is one node as this node sees it.
type Member struct {
	ID string `json:"id"`
	// Self is true for this node.
	Self bool `json:"self"`
	// State is alive, suspect (it missed probes), dead (it stopped answering) or left.
	State string `json:"state"`
	// APIAddr is where its API (and its links, raft and forwarded requests) listens.
	APIAddr string `json:"api_addr"`
	// ClusterAddr is its memberlist address; empty for members that are gone.
	ClusterAddr string `json:"cluster_addr"`
	// Clients counts its clients as this node knows them.
	Clients int `json:"clients"`
	// Link is "self", "synced" (its clients are here), "connecting" or "down".
	Link string `json:"link"`
}

// Members returns every node this node knows of, itself included, sorted by id.
func (c *Cluster) Members() []Member {
	addrs := map[string]*memberlist.Node{}
	if c.ml != nil {
		for _, n := range c.ml.Members() {
			addrs[n.Name] = n
		}
	}
	self := Member{ID: c.cfg.NodeID, Self: true, State: stateAlive, APIAddr: c.APIAddr(), ClusterAddr: c.ClusterAddr(),
		Clients: len(c.gw.LocalClients()), Link: "self"}
	out := []Member{self}
	c.mu.Lock()
	for _, m := range c.members {
		v := Member{ID: m.id, State: m.state, APIAddr: m.api, Clients: m.registered(), Link: "down"}
		if n := addrs[m.id]; n != nil {
			v.State = stateName(n.State)
			v.ClusterAddr = n.Address()
		}
		switch {
		case m.synced:
			v.Link = "synced"
		case m.in != nil:
			v.Link = "connecting"
		}
		out = append(out, v)
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Member returns the member with id, and whether this node knows it.
func (c *Cluster) Member(id string) (Member, bool) {
	for _, m := range c.Members() {
		if m.ID == id {
			return m, true
		}
	}
	return Member{}, false
}

func (c *Cluster) statusHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		members := c.Members()
		list := make([]any, len(members))
		for i, m := range members {
			list[i] = map[string]any{"id": m.ID, "self": m.Self, "state": m.State, "api_addr": m.APIAddr,
				"cluster_addr": m.ClusterAddr, "clients": int64(m.Clients), "link": m.Link}
		}
		health := int64(0)
		if c.ml != nil {
			health = int64(c.ml.GetHealthScore())
		}
		out := map[string]any{"node": c.cfg.NodeID, "cluster_addr": c.ClusterAddr(), "health_score": health, "members": list}
		for name, f := range c.statuses {
			out[name] = f()
		}
		b, err := wire.AppendJSON(nil, out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(b)
	})
}
