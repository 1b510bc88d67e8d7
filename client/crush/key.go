package crush

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Ancestor names a rev of the same key in another fork that a key was forked or merged from.
type Ancestor struct {
	Fork string `json:"fork"`
	Rev  uint64 `json:"rev"`
}

// Record is a key as read at one point of its history.
type Record struct {
	Key   string `json:"key"`
	Fork  string `json:"fork"`
	Value []byte `json:"value"`
	// Rev is the key's own rev: 0 at creation, +1 per write.
	Rev uint64 `json:"rev"`
	// Revision is the store revision the read was served at.
	Revision int64 `json:"revision"`
	// ModRevision is the store revision that wrote this rev.
	ModRevision int64 `json:"mod_revision"`
	// CreatedRevision is the store revision that created the key's current incarnation.
	CreatedRevision int64 `json:"created_revision"`
	// Op is the operation that wrote this rev: put, delete, fork, merge or revert.
	Op   string    `json:"op"`
	Time time.Time `json:"time"`
	// Ancestors are newest first.
	Ancestors []Ancestor `json:"ancestors"`
	Deleted   bool       `json:"deleted"`
}

// At is the point a read is served at. The zero At reads the newest state.
type At struct {
	rev      uint64
	hasRev   bool
	revision int64
	asOf     time.Time
}

// AtRev reads the key's own rev n.
func AtRev(n uint64) At { return At{rev: n, hasRev: true} }

// AtRevision reads the store as it was at store revision r (r >= 1).
func AtRevision(r int64) At { return At{revision: r} }

// AsOf reads the store as of the newest revision committed at or before t.
func AsOf(t time.Time) At { return At{asOf: t} }

func (a At) query(q url.Values) {
	switch {
	case a.hasRev:
		q.Set("rev", strconv.FormatUint(a.rev, 10))
	case a.revision != 0:
		q.Set("revision", strconv.FormatInt(a.revision, 10))
	case !a.asOf.IsZero():
		q.Set("as_of", a.asOf.UTC().Format(time.RFC3339Nano))
	}
}

// GetOptions are the options of Get and GetRaw; nil means the newest state of the default fork.
type GetOptions struct {
	// Fork is the fork to read; empty is "default".
	Fork string
	// At is the point to read at; the zero At reads now.
	At At
	// Serializable reads the local node's state without confirming leadership (faster, maybe stale).
	Serializable bool
}

func (o *GetOptions) query() url.Values {
	q := url.Values{}
	if o != nil {
		setFork(q, o.Fork)
		o.At.query(q)
		setSerializable(q, o.Serializable)
	}
	return q
}

// Get reads a key. A missing or deleted key is ErrNotFound (for a tombstone the *Error has
// Deleted and Rev set).
func (c *Client) Get(ctx context.Context, key string, opts *GetOptions) (Record, error) {
	var rec Record
	err := c.get(ctx, "/v2/kv/"+escapeKey(key), opts.query(), &rec)
	return rec, err
}

// RawValue is a value read with GetRaw, with the metadata the server sends in headers.
type RawValue struct {
	Value           []byte
	Rev             uint64
	Revision        int64
	ModRevision     int64
	CreatedRevision int64
}

// GetRaw reads a key's value as raw bytes (Accept: application/octet-stream).
func (c *Client) GetRaw(ctx context.Context, key string, opts *GetOptions) (RawValue, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	path := "/v2/kv/" + escapeKey(key)
	resp, err := c.send(ctx, call{method: http.MethodGet, path: path, query: opts.query(),
		header: http.Header{"Accept": {"application/octet-stream"}}, idempotent: true})
	if err != nil {
		return RawValue{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return RawValue{}, fmt.Errorf("read value of %s: %w", path, err)
	}
	h := resp.Header
	return RawValue{Value: b, Rev: headerUint(h, "X-Crush-Rev"), Revision: headerInt(h, "X-Crush-Revision"),
		ModRevision: headerInt(h, "X-Crush-Mod-Revision"), CreatedRevision: headerInt(h, "X-Crush-Created-Revision")}, nil
}

func headerInt(h http.Header, name string) int64 {
	n, _ := strconv.ParseInt(h.Get(name), 10, 64)
	return n
}

func headerUint(h http.Header, name string) uint64 {
	n, _ := strconv.ParseUint(h.Get(name), 10, 64)
	return n
}

// Precondition guards a single-key write. The zero Precondition always holds.
type Precondition struct {
	rev          uint64
	hasRev       bool
	mustNotExist bool
}

// IfMatch requires the key to exist at exactly rev (If-Match: rev).
func IfMatch(rev uint64) Precondition { return Precondition{rev: rev, hasRev: true} }

// IfNoneMatch requires the key to be absent or deleted (If-None-Match: *).
func IfNoneMatch() Precondition { return Precondition{mustNotExist: true} }

func (p Precondition) header() http.Header {
	h := http.Header{}
	if p.hasRev {
		h.Set("If-Match", strconv.FormatUint(p.rev, 10))
	}
	if p.mustNotExist {
		h.Set("If-None-Match", "*")
	}
	return h
}

// PutOptions are the options of Put; nil writes to the default fork unconditionally.
type PutOptions struct {
	Fork string
	// If makes the write conditional; a failed condition is ErrPreconditionFailed.
	If Precondition
}

// WriteResult is what a single-key write wrote.
type WriteResult struct {
	Key  string `json:"key"`
	Fork string `json:"fork"`
	// Rev is the key's new rev.
	Rev uint64 `json:"rev"`
	// Revision is the store revision of the write.
	Revision int64 `json:"revision"`
}

// Put writes value as the key's new rev.
func (c *Client) Put(ctx context.Context, key string, value []byte, opts *PutOptions) (WriteResult, error) {
	if opts == nil {
		opts = &PutOptions{}
	}
	q := url.Values{}
	setFork(q, opts.Fork)
	h := opts.If.header()
	h.Set("Content-Type", "application/octet-stream")
	if value == nil {
		value = []byte{}
	}
	var res WriteResult
	_, err := c.do(ctx, call{method: http.MethodPut, path: "/v2/kv/" + escapeKey(key), query: q, header: h, body: value}, &res)
	return res, err
}

// DeleteOptions are the options of Delete; nil writes a tombstone in the default fork.
type DeleteOptions struct {
	Fork string
	If   Precondition
	// Purge erases the key's whole history instead of writing a tombstone.
	Purge bool
}

// DeleteResult is what a delete did.
type DeleteResult struct {
	Key      string `json:"key"`
	Fork     string `json:"fork"`
	Rev      uint64 `json:"rev"`
	Revision int64  `json:"revision"`
	Purged   bool   `json:"purged"`
}

// Delete writes a tombstone (history stays readable), or with Purge erases the key. Deleting a
// missing or already deleted key is ErrNotFound.
func (c *Client) Delete(ctx context.Context, key string, opts *DeleteOptions) (DeleteResult, error) {
	if opts == nil {
		opts = &DeleteOptions{}
	}
	q := url.Values{}
	setFork(q, opts.Fork)
	if opts.Purge {
		q.Set("purge", "true")
	}
	var res DeleteResult
	_, err := c.do(ctx, call{method: http.MethodDelete, path: "/v2/kv/" + escapeKey(key), query: q, header: opts.If.header()}, &res)
	return res, err
}
