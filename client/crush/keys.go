package crush

import (
	"context"
	"iter"
	"net/url"
	"strconv"
)

// KeysOptions are the options of Keys; nil lists the first page of every key of the default
// fork.
type KeysOptions struct {
	Fork   string
	Prefix string
	// After skips keys up to and including After: pass the previous page's Next.
	After string
	// Limit caps the page; 0 is the server's default (1000).
	Limit int
	// Revision, when > 0, lists the keys that existed at that store revision.
	Revision     int64
	Serializable bool
}

// KeysPage is one page of a sorted key listing.
type KeysPage struct {
	Keys []string `json:"keys"`
	// Next, when not nil, is the After of the next page.
	Next     *string `json:"next"`
	Revision int64   `json:"revision"`
}

// Keys lists one page of live keys, sorted.
func (c *Client) Keys(ctx context.Context, opts *KeysOptions) (KeysPage, error) {
	q := url.Values{}
	if opts != nil {
		setFork(q, opts.Fork)
		if opts.Prefix != "" {
			q.Set("prefix", opts.Prefix)
		}
		if opts.After != "" {
			q.Set("after", opts.After)
		}
		if opts.Limit > 0 {
			q.Set("limit", strconv.Itoa(opts.Limit))
		}
		if opts.Revision > 0 {
			q.Set("revision", strconv.FormatInt(opts.Revision, 10))
		}
		setSerializable(q, opts.Serializable)
	}
	var page KeysPage
	err := c.get(ctx, "/v2/keys", q, &page)
	return page, err
}

// KeysAll walks every matching key, a page of opts.Limit at a time. Unless opts.Revision is
// set, the pages after the first are read at the first page's revision, so the walk is one
// consistent listing. It stops at the first error, which it yields.
func (c *Client) KeysAll(ctx context.Context, opts *KeysOptions) iter.Seq2[string, error] {
	o := KeysOptions{}
	if opts != nil {
		o = *opts
	}
	return func(yield func(string, error) bool) {
		for {
			page, err := c.Keys(ctx, &o)
			if err != nil {
				yield("", err)
				return
			}
			for _, k := range page.Keys {
				if !yield(k, nil) {
					return
				}
			}
			if page.Next == nil {
				return
			}
			o.After = *page.Next
			if o.Revision == 0 {
				o.Revision = page.Revision
			}
		}
	}
}
