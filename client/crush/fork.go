package crush

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Target is what a fork or merge acts on: one key, or every key under a prefix. Build it with
// Key or Prefix; the zero Target is refused by the server.
type Target struct {
	key      string
	prefix   string
	isKey    bool
	isPrefix bool
}

// Key targets one key.
func Key(key string) Target { return Target{key: key, isKey: true} }

// Prefix targets every key starting with prefix; "" is every key of the fork.
func Prefix(prefix string) Target { return Target{prefix: prefix, isPrefix: true} }

// IsPrefix reports whether the target is a prefix.
func (t Target) IsPrefix() bool { return t.isPrefix }

// String is the key, or the prefix followed by "*".
func (t Target) String() string {
	if t.isPrefix {
		return t.prefix + "*"
	}
	return t.key
}

// fields returns the "key" and "prefix" body fields; exactly one is set for a valid target.
func (t Target) fields() (key, prefix *string) {
	switch {
	case t.isPrefix:
		p := t.prefix
		return nil, &p
	case t.isKey:
		k := t.key
		return &k, nil
	}
	return nil, nil
}

// ForkRequest is a fork of From's keys into To.
type ForkRequest struct {
	From, To string
	Target   Target
	// Revision, when > 0, forks the source as it was at that store revision.
	Revision int64
	// Force forks onto target keys that exist (their history is kept); without it such keys
	// are ErrTargetExists and nothing is forked.
	Force bool
}

// KeyResult is what a fork or merge did to one key.
type KeyResult struct {
	Key string `json:"key"`
	Rev uint64 `json:"rev"`
	// Result is one of forked, added, fast-forward, merged, deleted, unchanged, kept-target,
	// overwritten.
	Result string `json:"result"`
}

// ForkResult is what a fork did.
type ForkResult struct {
	Revision int64       `json:"revision"`
	Keys     []KeyResult `json:"keys"`
}

// Fork makes keys of one fork appear in another, sharing their history (copy-on-write),
// atomically.
func (c *Client) Fork(ctx context.Context, req ForkRequest) (ForkResult, error) {
	key, prefix := req.Target.fields()
	body := struct {
		From     string  `json:"from"`
		To       string  `json:"to"`
		Key      *string `json:"key,omitempty"`
		Prefix   *string `json:"prefix,omitempty"`
		Revision int64   `json:"revision,omitempty"`
		Force    bool    `json:"force,omitempty"`
	}{req.From, req.To, key, prefix, req.Revision, req.Force}
	var res ForkResult
	err := c.postJSON(ctx, http.MethodPost, "/v2/fork", body, &res)
	return res, err
}

// ForkPoint records where a fork took some of its keys from.
type ForkPoint struct {
	From   string
	Target Target
	// FromRevision is the source's store revision that was forked; Revision when it happened.
	FromRevision int64
	Revision     int64
}

type forkPointJSON struct {
	From         string  `json:"from"`
	Key          *string `json:"key,omitempty"`
	Prefix       *string `json:"prefix,omitempty"`
	FromRevision int64   `json:"from_revision"`
	Revision     int64   `json:"revision"`
}

// MarshalJSON encodes a fork point as the server does.
func (p ForkPoint) MarshalJSON() ([]byte, error) {
	key, prefix := p.Target.fields()
	return json.Marshal(forkPointJSON{p.From, key, prefix, p.FromRevision, p.Revision})
}

// UnmarshalJSON decodes a fork point of GET /v2/forks.
func (p *ForkPoint) UnmarshalJSON(b []byte) error {
	var w forkPointJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("decode fork point: %w", err)
	}
	*p = ForkPoint{From: w.From, FromRevision: w.FromRevision, Revision: w.Revision}
	switch {
	case w.Prefix != nil:
		p.Target = Prefix(*w.Prefix)
	case w.Key != nil:
		p.Target = Key(*w.Key)
	}
	return nil
}

// ForkInfo describes one fork.
type ForkInfo struct {
	Name string `json:"name"`
	// CreatedRevision is the revision at which the fork got its first key.
	CreatedRevision int64 `json:"created_revision"`
	// Keys counts live keys.
	Keys int `json:"keys"`
	// Points are the fork points, oldest first.
	Points []ForkPoint `json:"points"`
}

// ForkList is the answer of Forks.
type ForkList struct {
	Forks    []ForkInfo `json:"forks"`
	Revision int64      `json:"revision"`
}

// ForksOptions are the options of Forks; nil is a linearizable read.
type ForksOptions struct {
	Serializable bool
}

// Forks lists the forks with their fork points.
func (c *Client) Forks(ctx context.Context, opts *ForksOptions) (ForkList, error) {
	q := url.Values{}
	if opts != nil {
		setSerializable(q, opts.Serializable)
	}
	var l ForkList
	err := c.get(ctx, "/v2/forks", q, &l)
	return l, err
}

// Strategy is how a merge treats keys changed on both sides.
type Strategy string

// The merge strategies.
const (
	// ThreeWay uses the fork point as base, fast-forwards when one side changed, and fails with
	// ErrConflict, applying nothing, when both changed differently. It is the default.
	ThreeWay Strategy = "three-way"
	// SourceWins overwrites the target with the source (crush v1's merge).
	SourceWins Strategy = "source-wins"
	// TargetWins is three-way, with conflicting keys keeping the target's value.
	TargetWins Strategy = "target-wins"
)

// MergeRequest is a merge of From's changes into To.
type MergeRequest struct {
	From, To string
	Target   Target
	// Strategy is ThreeWay when empty.
	Strategy Strategy
}

// MergeResult is what a merge did.
type MergeResult struct {
	Revision int64       `json:"revision"`
	Strategy Strategy    `json:"strategy"`
	Keys     []KeyResult `json:"keys"`
}

// Merge brings the changes of From into To, atomically. A three-way merge with conflicting keys
// is ErrConflict, and the *Error lists them in Conflicts.
func (c *Client) Merge(ctx context.Context, req MergeRequest) (MergeResult, error) {
	key, prefix := req.Target.fields()
	body := struct {
		From     string   `json:"from"`
		To       string   `json:"to"`
		Key      *string  `json:"key,omitempty"`
		Prefix   *string  `json:"prefix,omitempty"`
		Strategy Strategy `json:"strategy,omitempty"`
	}{req.From, req.To, key, prefix, req.Strategy}
	var res MergeResult
	err := c.postJSON(ctx, http.MethodPost, "/v2/merge", body, &res)
	return res, err
}
