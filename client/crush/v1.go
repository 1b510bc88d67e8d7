package crush

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// The v1 methods speak the original crush's API (GET/PUT/DELETE /:key[/:fork] and friends),
// for programs written against it. v1 keys are one path segment; they are escaped here, so
// they may contain any character, but GET of a key named keys, healthz, readyz, metrics or v2
// reaches another route (see docs/api/crush.md).

// v1Path is "/<key>" or "/<key>/<fork>", escaped.
func v1Path(key, fork string, rest ...string) string {
	p := "/" + escapeKey(key)
	if fork != "" {
		p += "/" + escapeKey(fork)
	}
	for _, r := range rest {
		p += "/" + escapeKey(r)
	}
	return p
}

// V1GetOptions are the options of V1Get; nil reads the value alone, in the default fork.
type V1GetOptions struct {
	Fork string
	// Revisions asks for the N newest earlier revisions; AllRevisions for all of them.
	Revisions    int
	AllRevisions bool
	// Patch returns earlier revisions as whole values (V1Item.Values) instead of patches.
	Patch bool
}

// V1Item is a v1 read.
type V1Item struct {
	// Found is false when the key is absent or deleted (the server answered []).
	Found bool
	Value []byte
	// Patches, newest first, each turn a value into the one before it (patch=false).
	Patches [][]Edit
	// Values are the earlier values, newest first (patch=true).
	Values [][]byte
}

// V1Get reads a key as GET /:key[/:fork]?revisions=&patch= does.
func (c *Client) V1Get(ctx context.Context, key string, opts *V1GetOptions) (V1Item, error) {
	o := V1GetOptions{}
	if opts != nil {
		o = *opts
	}
	q := url.Values{}
	switch {
	case o.AllRevisions:
		q.Set("revisions", "all")
	case o.Revisions != 0:
		q.Set("revisions", strconv.Itoa(o.Revisions))
	}
	if o.Patch {
		q.Set("patch", "true")
	}
	var raw []json.RawMessage
	if err := c.get(ctx, v1Path(key, o.Fork), q, &raw); err != nil {
		return V1Item{}, err
	}
	return decodeV1Item(raw, o.Patch)
}

func decodeV1Item(raw []json.RawMessage, patch bool) (V1Item, error) {
	if len(raw) == 0 {
		return V1Item{}, nil
	}
	if len(raw) != 2 {
		return V1Item{}, fmt.Errorf("decode v1 item: want [value, revisions], got %d elements", len(raw))
	}
	var b64 string
	if err := json.Unmarshal(raw[0], &b64); err != nil {
		return V1Item{}, fmt.Errorf("decode v1 item: %w", err)
	}
	value, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return V1Item{}, fmt.Errorf("decode v1 item: %w", err)
	}
	item := V1Item{Found: true, Value: value}
	if patch {
		err = json.Unmarshal(raw[1], &item.Values)
	} else {
		err = json.Unmarshal(raw[1], &item.Patches)
	}
	if err != nil {
		return V1Item{}, fmt.Errorf("decode v1 item: %w", err)
	}
	return item, nil
}

// V1Put writes a value (PUT /:key[/:fork]); fork "" is the default fork.
func (c *Client) V1Put(ctx context.Context, key, fork string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	h := http.Header{"Content-Type": {"application/octet-stream"}}
	_, err := c.do(ctx, call{method: http.MethodPut, path: v1Path(key, fork), header: h, body: value}, nil)
	return err
}

// V1Delete deletes a key (DELETE /:key[/:fork]). Unlike the original crush it writes a
// tombstone and keeps the history; deleting an absent key succeeds.
func (c *Client) V1Delete(ctx context.Context, key, fork string) error {
	_, err := c.do(ctx, call{method: http.MethodDelete, path: v1Path(key, fork)}, nil)
	return err
}

// V1Info is the answer of GET /:key[/:fork]/info.
type V1Info struct {
	Key string `json:"key"`
	// RevisionCount is the key's rev (0 when absent).
	RevisionCount uint64 `json:"revision_count"`
}

// V1Info reads a key's revision count.
func (c *Client) V1Info(ctx context.Context, key, fork string) (V1Info, error) {
	var info V1Info
	err := c.get(ctx, v1Path(key, fork, "info"), nil, &info)
	return info, err
}

// V1Fork copies a key from one fork into another (POST /:key/:from/fork/:to).
func (c *Client) V1Fork(ctx context.Context, key, from, to string) error {
	_, err := c.do(ctx, call{method: http.MethodPost, path: v1Path(key, from, "fork", to)}, nil)
	return err
}

// V1Merge overwrites the key in fork to with its value in fork from (POST
// /:key/:from/merge/:to). Both must exist: ErrSourceNotFound, ErrTargetNotFound.
func (c *Client) V1Merge(ctx context.Context, key, from, to string) error {
	_, err := c.do(ctx, call{method: http.MethodPost, path: v1Path(key, from, "merge", to)}, nil)
	return err
}

// V1Keys is the answer of GET /keys.
type V1Keys struct {
	// Names are "<fork>:<key>", sorted.
	Names []string
	// Truncated is set when the server stopped at its cap (X-Crush-Truncated).
	Truncated bool
}

// V1Keys lists the keys of a fork (fork "" is the default fork) starting with prefix.
func (c *Client) V1Keys(ctx context.Context, prefix, fork string) (V1Keys, error) {
	q := url.Values{}
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	setFork(q, fork)
	var out V1Keys
	h, err := c.do(ctx, call{method: http.MethodGet, path: "/keys", query: q, idempotent: true}, &out.Names)
	if err != nil {
		return V1Keys{}, err
	}
	out.Truncated = h.Get("X-Crush-Truncated") == "true"
	return out, nil
}
