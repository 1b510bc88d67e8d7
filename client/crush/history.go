package crush

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// HistoryEntry describes one rev of a key, without its value.
type HistoryEntry struct {
	Rev      uint64    `json:"rev"`
	Revision int64     `json:"revision"`
	Op       string    `json:"op"`
	Time     time.Time `json:"time"`
	// Size is the value's size in bytes.
	Size      int        `json:"size"`
	Deleted   bool       `json:"deleted"`
	Ancestors []Ancestor `json:"ancestors"`
}

// HistoryOptions are the options of History; nil reads the newest 100 revs of the default fork.
type HistoryOptions struct {
	Fork string
	// Limit caps the page; 0 is the server's default (100).
	Limit int
	// BeforeRev, when > 0, starts the page below that rev: pass the previous page's Next.
	BeforeRev    uint64
	Serializable bool
}

// HistoryPage is one page of a key's history, newest first.
type HistoryPage struct {
	Key     string         `json:"key"`
	Fork    string         `json:"fork"`
	History []HistoryEntry `json:"history"`
	// Next, when not nil, is the BeforeRev of the next (older) page.
	Next     *uint64 `json:"next"`
	Revision int64   `json:"revision"`
}

// History reads one page of a key's history, newest first.
func (c *Client) History(ctx context.Context, key string, opts *HistoryOptions) (HistoryPage, error) {
	q := url.Values{}
	if opts != nil {
		setFork(q, opts.Fork)
		if opts.Limit > 0 {
			q.Set("limit", strconv.Itoa(opts.Limit))
		}
		if opts.BeforeRev > 0 {
			q.Set("before_rev", strconv.FormatUint(opts.BeforeRev, 10))
		}
		setSerializable(q, opts.Serializable)
	}
	var page HistoryPage
	err := c.get(ctx, "/v2/history/"+escapeKey(key), q, &page)
	return page, err
}

// HistoryAll walks a key's whole history, newest first, a page of opts.Limit at a time. It
// stops at the first error, which it yields.
func (c *Client) HistoryAll(ctx context.Context, key string, opts *HistoryOptions) iter.Seq2[HistoryEntry, error] {
	o := HistoryOptions{}
	if opts != nil {
		o = *opts
	}
	return func(yield func(HistoryEntry, error) bool) {
		for {
			page, err := c.History(ctx, key, &o)
			if err != nil {
				yield(HistoryEntry{}, err)
				return
			}
			for _, e := range page.History {
				if !yield(e, nil) {
					return
				}
			}
			if page.Next == nil {
				return
			}
			o.BeforeRev = *page.Next
		}
	}
}

// Edit is one segment of an edit script: Op is "eq" (keep Data), "del" (remove Data) or "ins"
// (insert Data). On the wire it is ["op", "<base64>"], as in crush.
type Edit struct {
	Op   string
	Data []byte
}

// MarshalJSON encodes an edit as crush does: ["op", "<base64>"].
func (e Edit) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]string{e.Op, base64.StdEncoding.EncodeToString(e.Data)})
}

// UnmarshalJSON decodes ["op", "<base64>"].
func (e *Edit) UnmarshalJSON(b []byte) error {
	var pair [2]string
	if err := json.Unmarshal(b, &pair); err != nil {
		return fmt.Errorf("decode edit: %w", err)
	}
	data, err := base64.StdEncoding.DecodeString(pair[1])
	if err != nil {
		return fmt.Errorf("decode edit: %w", err)
	}
	e.Op, e.Data = pair[0], data
	return nil
}

// Apply runs an edit script on from and returns the value it leads to; it fails when an "eq"
// or "del" segment does not match from.
func Apply(from []byte, script []Edit) ([]byte, error) {
	var out []byte
	for i, e := range script {
		switch e.Op {
		case "eq", "del":
			if len(from) < len(e.Data) || string(from[:len(e.Data)]) != string(e.Data) {
				return nil, fmt.Errorf("apply edit %d: %q segment does not match the value", i, e.Op)
			}
			if e.Op == "eq" {
				out = append(out, e.Data...)
			}
			from = from[len(e.Data):]
		case "ins":
			out = append(out, e.Data...)
		default:
			return nil, fmt.Errorf("apply edit %d: unknown op %q", i, e.Op)
		}
	}
	if len(from) > 0 {
		return nil, fmt.Errorf("apply edits: %d bytes of the value are not covered", len(from))
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

// DiffPoint is one side of a diff as the server resolved it.
type DiffPoint struct {
	Fork    string `json:"fork"`
	Rev     uint64 `json:"rev"`
	Deleted bool   `json:"deleted"`
}

// DiffOptions are the options of Diff; nil diffs the key's current rev against the one before,
// in the default fork.
type DiffOptions struct {
	// Fork is the fork of a side that names none; empty is "default".
	Fork string
	// From and To are "<fork>@<rev>", "<fork>" (its current rev), "@<rev>" (in Fork) or empty.
	// An empty To is the current rev; an empty From is the rev before To, in To's fork.
	From, To     string
	Serializable bool
}

// Diff is the edit script that turns From's value into To's.
type Diff struct {
	Key      string    `json:"key"`
	From     DiffPoint `json:"from"`
	To       DiffPoint `json:"to"`
	Edits    []Edit    `json:"edits"`
	Revision int64     `json:"revision"`
}

// Diff computes the edit script between two points of a key's history, possibly in two forks.
func (c *Client) Diff(ctx context.Context, key string, opts *DiffOptions) (Diff, error) {
	q := url.Values{}
	if opts != nil {
		setFork(q, opts.Fork)
		if opts.From != "" {
			q.Set("from", opts.From)
		}
		if opts.To != "" {
			q.Set("to", opts.To)
		}
		setSerializable(q, opts.Serializable)
	}
	var d Diff
	err := c.get(ctx, "/v2/diff/"+escapeKey(key), q, &d)
	return d, err
}

// RevertOptions are the options of Revert; nil reverts in the default fork unconditionally.
type RevertOptions struct {
	Fork string
	If   Precondition
}

// RevertResult is what a revert wrote.
type RevertResult struct {
	Key      string `json:"key"`
	Fork     string `json:"fork"`
	Rev      uint64 `json:"rev"`
	Revision int64  `json:"revision"`
	// RevertedTo is the rev whose value was restored.
	RevertedTo uint64 `json:"reverted_to"`
}

// Revert writes the value the key had at rev toRev as its new rev; history stays append-only.
func (c *Client) Revert(ctx context.Context, key string, toRev uint64, opts *RevertOptions) (RevertResult, error) {
	if opts == nil {
		opts = &RevertOptions{}
	}
	q := url.Values{"to_rev": {strconv.FormatUint(toRev, 10)}}
	setFork(q, opts.Fork)
	var res RevertResult
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v2/revert/" + escapeKey(key), query: q, header: opts.If.header()}, &res)
	return res, err
}
