package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// crushClient drives one crush node over its v2 HTTP API with a single keep-alive connection.
type crushClient struct {
	base string // http://host:port
	hc   *http.Client
	tr   *http.Transport
	buf  bytes.Buffer
}

var _ client = (*crushClient)(nil)

// newCrushClient returns a client of the crush node at addr (host:port) that holds at most one
// connection, kept alive between requests.
func newCrushClient(addr string) *crushClient {
	tr := &http.Transport{
		MaxIdleConns:        1,
		MaxIdleConnsPerHost: 1,
		MaxConnsPerHost:     1,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &crushClient{base: "http://" + addr, tr: tr, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (c *crushClient) keyURL(key string) string {
	return c.base + "/v2/kv/" + (&url.URL{Path: key}).EscapedPath()
}

// Put writes value and returns the key's new rev (0-based, from the ETag of the answer).
func (c *crushClient) Put(ctx context.Context, key string, value []byte) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.keyURL(key), bytes.NewReader(value))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.do(req)
	if err != nil {
		return 0, err
	}
	rev, err := strconv.ParseInt(strings.Trim(resp.Header.Get("ETag"), `"`), 10, 64)
	if err != nil || rev < 0 {
		return 0, fmt.Errorf("read rev of put: ETag %q", resp.Header.Get("ETag"))
	}
	return rev, nil
}

// Get reads key's current value.
func (c *crushClient) Get(ctx context.Context, key string) ([]byte, error) {
	return c.get(ctx, c.keyURL(key))
}

// GetAt reads key at a per-key rev (?rev=N).
func (c *crushClient) GetAt(ctx context.Context, key string, rev int64) ([]byte, error) {
	return c.get(ctx, c.keyURL(key)+"?rev="+strconv.FormatInt(rev, 10))
}

func (c *crushClient) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/octet-stream")
	if _, err := c.do(req); err != nil {
		return nil, err
	}
	return c.buf.Bytes(), nil
}

// do sends req and reads the whole body into c.buf (so the connection is reused). Any answer
// but 200 is an error carrying the body.
func (c *crushClient) do(req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	c.buf.Reset()
	if _, err := c.buf.ReadFrom(resp.Body); err != nil {
		return nil, fmt.Errorf("read body of %s %s: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: status %d: %s", req.Method, req.URL.Path, resp.StatusCode, strings.TrimSpace(c.buf.String()))
	}
	return resp, nil
}

// Revision returns the node's store revision (GET /v2/status).
func (c *crushClient) Revision(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v2/status", nil)
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	if _, err := c.do(req); err != nil {
		return 0, err
	}
	var st struct {
		Revision int64 `json:"revision"`
	}
	if err := json.Unmarshal(c.buf.Bytes(), &st); err != nil {
		return 0, fmt.Errorf("decode status: %w", err)
	}
	return st.Revision, nil
}

// Close drops the connection.
func (c *crushClient) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}
