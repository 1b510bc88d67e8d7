package singyeong

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// HTTPError is a non-2xx answer of the REST API. Code is the body's "error" when it is a
// string (the stable code, e.g. "queue_not_found").
type HTTPError struct {
	Status int
	Code   string
	Body   string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("singyeong: http %d: %s", e.Status, strings.TrimSpace(e.Body))
}

// maxAnswer bounds what the REST client reads of one answer.
const maxAnswer = 64 << 20

// REST is a client of the server's REST API. Server is the http(s) (or ws(s)) base URL; Auth is
// sent as the raw Authorization header when not empty; HTTP nil means http.DefaultClient.
type REST struct {
	Server string
	Auth   string
	HTTP   *http.Client
}

// Query asks POST /api/v1/query which clients a query matches. server is the http(s) base URL;
// auth is sent as the raw Authorization header when not empty.
func Query(ctx context.Context, hc *http.Client, server, auth string, query any) ([]Node, error) {
	return REST{Server: server, Auth: auth, HTTP: hc}.Query(ctx, query)
}

// Query asks POST /api/v1/query which clients a query matches.
func (r REST) Query(ctx context.Context, query any) ([]Node, error) {
	raw, err := r.do(ctx, http.MethodPost, "/api/v1/query", nil, query)
	if err != nil {
		return nil, err
	}
	m, err := JSON.unmarshal(append(append([]byte(`{"nodes":`), raw...), '}'))
	if err != nil {
		return nil, fmt.Errorf("singyeong: decode query answer: %w", err)
	}
	return nodesFrom(m["nodes"])
}

// do sends a request with body (JSON-encoded unless nil) and returns the answer's body, or an
// *HTTPError for a non-2xx status.
func (r REST) do(ctx context.Context, method, path string, params url.Values, body any) ([]byte, error) {
	hc := r.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	u, err := url.Parse(r.Server)
	if err != nil {
		return nil, fmt.Errorf("singyeong: parse server url: %w", err)
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = params.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(floatsAsFloats(body))
		if err != nil {
			return nil, fmt.Errorf("singyeong: encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.Auth != "" {
		req.Header.Set("Authorization", r.Auth)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("singyeong: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("singyeong: read answer of %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, &HTTPError{Status: resp.StatusCode, Code: errorCode(raw), Body: string(raw)}
	}
	return raw, nil
}

// decodeAnswer decodes a JSON object answer into plain values.
func decodeAnswer(raw []byte) (map[string]any, error) {
	m, err := JSON.unmarshal(raw)
	if err != nil {
		return nil, fmt.Errorf("singyeong: decode answer: %w", err)
	}
	return m, nil
}

// nodesFrom converts decoded client views into Nodes.
func nodesFrom(v any) ([]Node, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: nodes must be a list, got %T", ErrProtocol, v)
	}
	nodes := make([]Node, 0, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		n := Node{Metadata: map[string]any{}, MetadataTypes: map[string]string{}, Queues: []string{}}
		n.AppID, _ = m["app_id"].(string)
		n.ClientID, _ = m["client_id"].(string)
		n.SocketIP, _ = m["socket_ip"].(string)
		if md, ok := m["metadata"].(map[string]any); ok {
			n.Metadata = md
		}
		if types, ok := m["metadata_types"].(map[string]any); ok {
			for k, t := range types {
				n.MetadataTypes[k], _ = t.(string)
			}
		}
		if qs, ok := m["queues"].([]any); ok {
			for _, q := range qs {
				if s, ok := q.(string); ok {
					n.Queues = append(n.Queues, s)
				}
			}
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

func intOf(v any) int64 {
	n, _ := v.(int64)
	return n
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}

func formatCursor(after uint64) string {
	if after == 0 {
		return ""
	}
	return strconv.FormatUint(after, 10)
}

// errorCode returns the "error" of a JSON error answer when it is a string, or "".
func errorCode(raw []byte) string {
	var e struct {
		Error any `json:"error"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return ""
	}
	code, _ := e.Error.(string)
	return code
}
