package singyeong

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// ClusterMember is one node as another sees it (GET /api/v1/cluster).
type ClusterMember struct {
	ID   string `json:"id"`
	Self bool   `json:"self"`
	// State is memberlist's view: alive, suspect, dead or left.
	State       string `json:"state"`
	APIAddr     string `json:"api_addr"`
	ClusterAddr string `json:"cluster_addr"`
	// Clients counts the member's clients registered on the answering node.
	Clients int64 `json:"clients"`
	// Link is the answering node's link to the member: self, synced, connecting or down.
	Link string `json:"link"`
}

// QueueServer is a member of the queue group (raft).
type QueueServer struct {
	ID       string `json:"id"`
	Addr     string `json:"addr"`
	Suffrage string `json:"suffrage"`
}

// QueueGroup is the queue group as the answering node sees it.
type QueueGroup struct {
	State             string        `json:"state"`
	Leader            string        `json:"leader"`
	LeaderAddr        string        `json:"leader_addr"`
	Term              uint64        `json:"term"`
	CommitIndex       uint64        `json:"commit_index"`
	AppliedIndex      uint64        `json:"applied_index"`
	LastIndex         uint64        `json:"last_index"`
	FirstIndex        uint64        `json:"first_index"`
	LastSnapshotIndex uint64        `json:"last_snapshot_index"`
	BrokerLeading     bool          `json:"broker_leading"`
	LastContactMillis int64         `json:"last_contact_ms"`
	Servers           []QueueServer `json:"servers"`
}

// ClusterStatus is what one node sees of its cluster; a single node is a cluster of one.
type ClusterStatus struct {
	Node        string `json:"node"`
	ClusterAddr string `json:"cluster_addr"`
	// HealthScore is memberlist's awareness score: 0 is healthy.
	HealthScore int64           `json:"health_score"`
	Members     []ClusterMember `json:"members"`
	Queues      QueueGroup      `json:"queues"`
}

// Cluster returns the answering node's view of the cluster (GET /api/v1/cluster).
func (r REST) Cluster(ctx context.Context) (ClusterStatus, error) {
	raw, err := r.do(ctx, http.MethodGet, "/api/v1/cluster", nil, nil)
	if err != nil {
		return ClusterStatus{}, err
	}
	var st ClusterStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		return ClusterStatus{}, fmt.Errorf("singyeong: decode cluster status: %w", err)
	}
	return st, nil
}

// RemoveMember removes a node that is gone for good from the queue group, so that the quorum
// counts only live nodes (DELETE /api/v1/cluster/members/{id}). An id outside the group is an
// *HTTPError with Code "unknown_member"; without a leader, Code "unavailable" (retry).
func (r REST) RemoveMember(ctx context.Context, id string) error {
	_, err := r.do(ctx, http.MethodDelete, "/api/v1/cluster/members/"+url.PathEscape(id), nil, nil)
	return err
}
