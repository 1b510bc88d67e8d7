package crush

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Members is the cluster's membership as the answering node sees it, with each member's own
// answer to a status query.
type Members struct {
	LeaderID string   `json:"leader_id"`
	Members  []Member `json:"members"`
}

// Members lists the cluster's members.
func (c *Client) Members(ctx context.Context) (Members, error) {
	var m Members
	err := c.get(ctx, "/v2/members", nil, &m)
	return m, err
}

// NewMember describes a server to add.
type NewMember struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	APIAddr  string `json:"api_addr,omitempty"`
	// Voter makes the member a voter once it has caught up; false keeps it a non-voter.
	Voter bool `json:"voter"`
}

// AddMember adds a server; start it with the same --node-id and no --peers (it needs no --join
// when it was added this way).
func (c *Client) AddMember(ctx context.Context, m NewMember) error {
	return c.postJSON(ctx, http.MethodPost, "/v2/members", m, nil)
}

// RemoveMember removes a server from the cluster; it stops serving.
func (c *Client) RemoveMember(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{method: http.MethodDelete, path: "/v2/members/" + url.PathEscape(id)}, nil)
	return err
}

// PromoteMember makes a non-voter a voter once it has caught up.
func (c *Client) PromoteMember(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v2/members/" + url.PathEscape(id) + "/promote"}, nil)
	return err
}

// Snapshot streams a consistent copy of the answering node's state (a bbolt file) to w and
// returns the store revision it holds. Restore it with `crush snapshot restore`.
func (c *Client) Snapshot(ctx context.Context, w io.Writer) (int64, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	resp, err := c.send(ctx, call{method: http.MethodGet, path: "/v2/snapshot", idempotent: true,
		header: http.Header{"Accept": {"application/octet-stream"}}})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var rev int64
	fmt.Sscan(resp.Header.Get("X-Crush-Revision"), &rev)
	if _, err := io.Copy(w, resp.Body); err != nil {
		return 0, fmt.Errorf("read snapshot: %w", err)
	}
	return rev, nil
}
