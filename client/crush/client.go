package crush

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults of a Client.
const (
	// DefaultEndpoint is where `crush serve` listens unless told otherwise.
	DefaultEndpoint = "http://127.0.0.1:7654"
	// DefaultTimeout bounds each call, all its attempts included.
	DefaultTimeout = 30 * time.Second
	// DefaultRetryWait is the longest Retry-After the client honours between rounds.
	DefaultRetryWait = time.Second
)

// Client talks to a crush cluster through one or more endpoints. It is safe for concurrent
// use. See the package documentation for which requests are retried where.
type Client struct {
	endpoints []string
	hc        *http.Client
	timeout   time.Duration
	retryWait time.Duration
	// preferred is the index of the endpoint that last answered with anything but a 503.
	preferred atomic.Int64
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends requests with hc instead of a client of the package's own.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTimeout bounds each call, retries included; 0 leaves calls bounded by their context only.
// Watches are never bounded by it.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithRetryWait caps how long the client waits for a Retry-After before trying the endpoints
// once more; 0 goes round again without waiting.
func WithRetryWait(d time.Duration) Option { return func(c *Client) { c.retryWait = d } }

// New returns a client of the given endpoints: URLs such as "http://127.0.0.1:7654" or
// "https://crush.example", or "host:port" for plain HTTP. It connects to nothing yet.
func New(endpoints []string, opts ...Option) (*Client, error) {
	c := &Client{hc: &http.Client{}, timeout: DefaultTimeout, retryWait: DefaultRetryWait}
	for _, e := range endpoints {
		if strings.TrimSpace(e) == "" {
			continue
		}
		u, err := parseEndpoint(e)
		if err != nil {
			return nil, err
		}
		c.endpoints = append(c.endpoints, u)
	}
	if len(c.endpoints) == 0 {
		return nil, errors.New("new client: no endpoints: give at least one, e.g. " + DefaultEndpoint)
	}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	return c, nil
}

// parseEndpoint normalises an endpoint to "scheme://host[:port][/path]" without a trailing slash.
func parseEndpoint(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("parse endpoint %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("parse endpoint %q: the scheme must be http or https", s)
	}
	if u.Host == "" {
		return "", fmt.Errorf("parse endpoint %q: no host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("parse endpoint %q: an endpoint has no query or fragment", s)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// Endpoints returns the normalised endpoints, in the order given.
func (c *Client) Endpoints() []string { return append([]string(nil), c.endpoints...) }

// call is one API request.
type call struct {
	method string
	// path is already escaped.
	path   string
	query  url.Values
	header http.Header
	body   []byte
	// idempotent marks reads: safe to send again after any failure.
	idempotent bool
}

// retryable503 are the 503 codes after which a read moves to another endpoint.
func retryable503(e *Error) bool { return e.Code == "not_leader" || e.Code == "unavailable" }

// send sends a call along the endpoints as the package documentation says and returns a 2xx
// or 3xx response, or an error (an *Error for an error answer).
func (c *Client) send(ctx context.Context, cl call) (*http.Response, error) {
	n := len(c.endpoints)
	start := int(c.preferred.Load())
	var lastErr error
	for round := 0; round < 2; round++ {
		wait := time.Duration(-1)
		for i := range n {
			idx := (start + i) % n
			resp, err := c.sendTo(ctx, c.endpoints[idx], cl)
			if err != nil {
				if ctx.Err() != nil || !(cl.idempotent || isDialError(err)) {
					return nil, err
				}
				lastErr = err
				continue
			}
			if resp.StatusCode != http.StatusServiceUnavailable {
				c.preferred.Store(int64(idx))
			}
			if resp.StatusCode < 400 {
				return resp, nil
			}
			apiErr := readError(resp)
			if !cl.idempotent || resp.StatusCode != http.StatusServiceUnavailable || !retryable503(apiErr) {
				return nil, apiErr
			}
			lastErr = apiErr
			wait = max(wait, retryAfter(resp))
		}
		if wait < 0 {
			break
		}
		if err := sleep(ctx, min(wait, c.retryWait)); err != nil {
			return nil, err
		}
	}
	return nil, lastErr
}

func (c *Client) sendTo(ctx context.Context, endpoint string, cl call) (*http.Response, error) {
	target := endpoint + cl.path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, vs := range cl.header {
		req.Header[k] = vs
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("User-Agent", "crush-go-client")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", cl.method, endpoint+cl.path, unwrapURLError(err))
	}
	return resp, nil
}

// unwrapURLError drops *url.Error's own "Method URL:" prefix, which sendTo already writes.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// isDialError reports whether a connection could not be opened: the request never left.
func isDialError(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// retryAfter reads a Retry-After header in seconds; 0 when absent or unreadable.
func retryAfter(resp *http.Response) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// withTimeout applies the client's timeout to a call.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.timeout)
}

// maxAnswer bounds a JSON answer: a value is at most a few MiB, base64 included.
const maxAnswer = 256 << 20

// do sends a call and decodes its JSON answer into out (unless out is nil). It returns the
// answer's headers.
func (c *Client) do(ctx context.Context, cl call, out any) (http.Header, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	resp, err := c.send(ctx, cl)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		return resp.Header, nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(out); err != nil {
		return nil, fmt.Errorf("decode answer of %s %s: %w", cl.method, cl.path, err)
	}
	return resp.Header, nil
}

// get is a read with a JSON answer.
func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	_, err := c.do(ctx, call{method: http.MethodGet, path: path, query: q, idempotent: true}, out)
	return err
}

// postJSON sends a JSON body and decodes the JSON answer.
func (c *Client) postJSON(ctx context.Context, method, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	_, err = c.do(ctx, call{method: method, path: path, header: h, body: body}, out)
	return err
}

// escapeKey escapes a key as one path segment: '/' becomes %2F, so that no key is taken apart
// or cleaned by the server's router, and the segments "." and ".." are escaped too.
func escapeKey(key string) string {
	switch key {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	return url.PathEscape(key)
}

// setFork adds ?fork= unless the fork is empty (the default fork).
func setFork(q url.Values, fork string) {
	if fork != "" {
		q.Set("fork", fork)
	}
}

// setSerializable asks for a local (serializable) read.
func setSerializable(q url.Values, serializable bool) {
	if serializable {
		q.Set("consistency", "serializable")
	}
}
