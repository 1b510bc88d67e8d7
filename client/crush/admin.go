package crush

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// CompactResult is what a compaction did.
type CompactResult struct {
	Revision int64 `json:"revision"`
	// CompactedRevision is the revision history is now compacted to.
	CompactedRevision int64 `json:"compacted_revision"`
}

// Compact discards history superseded before revision, except what live forks still need.
// Reads and watches from before it then fail with ErrCompacted.
func (c *Client) Compact(ctx context.Context, revision int64) (CompactResult, error) {
	var res CompactResult
	err := c.postJSON(ctx, http.MethodPost, "/v2/compact", map[string]int64{"revision": revision}, &res)
	return res, err
}

// Retention is the history retention policy; zero fields are off.
type Retention struct {
	// KeepRevs keeps at most this many newest revs of every key.
	KeepRevs int
	// KeepDuration keeps every revision younger than this.
	KeepDuration time.Duration
}

type retentionJSON struct {
	KeepRevs     int    `json:"keep_revs"`
	KeepDuration string `json:"keep_duration"`
}

// MarshalJSON encodes the policy as the server does, the duration as a Go duration string.
func (r Retention) MarshalJSON() ([]byte, error) {
	d := ""
	if r.KeepDuration != 0 {
		d = r.KeepDuration.String()
	}
	return json.Marshal(retentionJSON{KeepRevs: r.KeepRevs, KeepDuration: d})
}

// UnmarshalJSON decodes {"keep_revs": N, "keep_duration": "720h0m0s"}.
func (r *Retention) UnmarshalJSON(b []byte) error {
	var w retentionJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("decode retention: %w", err)
	}
	*r = Retention{KeepRevs: w.KeepRevs}
	if w.KeepDuration != "" {
		d, err := time.ParseDuration(w.KeepDuration)
		if err != nil {
			return fmt.Errorf("decode retention: %w", err)
		}
		r.KeepDuration = d
	}
	return nil
}

// Retention reads the retention policy.
func (c *Client) Retention(ctx context.Context) (Retention, error) {
	var r Retention
	err := c.get(ctx, "/v2/retention", nil, &r)
	return r, err
}

// SetRetention replaces the retention policy and returns the policy now in force.
func (c *Client) SetRetention(ctx context.Context, r Retention) (Retention, error) {
	var out Retention
	err := c.postJSON(ctx, http.MethodPut, "/v2/retention", r, &out)
	return out, err
}

// Status is a node's view of the store.
type Status struct {
	Version           string    `json:"version"`
	Revision          int64     `json:"revision"`
	CompactedRevision int64     `json:"compacted_revision"`
	AppliedIndex      uint64    `json:"applied_index"`
	Keys              int       `json:"keys"`
	DBSizeBytes       int64     `json:"db_size_bytes"`
	Retention         Retention `json:"retention"`
	// Raft is the node's replication state; nil when the node reports none.
	Raft *RaftStatus `json:"raft,omitempty"`
}

// RaftStatus is a node's replication state.
type RaftStatus struct {
	NodeID       string   `json:"node_id"`
	State        string   `json:"state"`
	LeaderID     string   `json:"leader_id"`
	LeaderAddr   string   `json:"leader_addr"`
	Term         uint64   `json:"term"`
	CommitIndex  uint64   `json:"commit_index"`
	AppliedIndex uint64   `json:"applied_index"`
	LastLogIndex uint64   `json:"last_log_index"`
	Members      []Member `json:"members"`
}

// Member is one node of the raft configuration.
type Member struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	// APIAddr is the member's API base URL ("" until it registered it).
	APIAddr string `json:"api_addr"`
	Voter   bool   `json:"voter"`
	// WantVoter is set for members that become voters once they caught up.
	WantVoter bool `json:"want_voter"`
	Leader    bool `json:"leader"`
	// Reachable, State and AppliedIndex are the member's own answer when asked.
	Reachable    bool   `json:"reachable"`
	State        string `json:"state"`
	AppliedIndex uint64 `json:"applied_index"`
}

// Status reads the status of the node that answers.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.get(ctx, "/v2/status", nil, &s)
	return s, err
}

// Health checks that a node serves HTTP (GET /healthz).
func (c *Client) Health(ctx context.Context) error {
	return c.get(ctx, "/healthz", nil, nil)
}

// Ready checks that a node can serve linearizable reads now (GET /readyz); a node that cannot
// answers an *Error with its reason.
func (c *Client) Ready(ctx context.Context) error {
	return c.get(ctx, "/readyz", nil, nil)
}
