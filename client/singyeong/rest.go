package singyeong

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// HTTPError is a non-2xx answer of the REST API.
type HTTPError struct {
	Status int
	Body   string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("singyeong: http %d: %s", e.Status, strings.TrimSpace(e.Body))
}

// Query asks POST /api/v1/query which clients a query matches. server is the http(s) base URL;
// auth is sent as the raw Authorization header when not empty.
func Query(ctx context.Context, hc *http.Client, server, auth string, query any) ([]Node, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	u, err := url.Parse(server)
	if err != nil {
		return nil, fmt.Errorf("singyeong: parse server url: %w", err)
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v1/query"
	body, err := json.Marshal(floatsAsFloats(query))
	if err != nil {
		return nil, fmt.Errorf("singyeong: encode query: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("singyeong: query: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("singyeong: read query answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, &HTTPError{Status: resp.StatusCode, Body: string(raw)}
	}
	m, err := JSON.unmarshal(append(append([]byte(`{"nodes":`), raw...), '}'))
	if err != nil {
		return nil, fmt.Errorf("singyeong: decode query answer: %w", err)
	}
	return nodesFrom(m["nodes"])
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
