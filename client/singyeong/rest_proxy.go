package singyeong

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ProxyRequest is a request for POST /api/v1/proxy: the server sends Method Route to a client
// that Query matches (at the address it identified with) and answers with that client's answer.
type ProxyRequest struct {
	Method string
	Route  string
	Query  any
	// Body is sent raw when it is a string, as JSON otherwise; nil for none.
	Body    any
	Headers map[string]string
}

// ProxyResponse is the target's answer, passed through.
type ProxyResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// Proxy sends a request through the server's HTTP proxy. The target's answer is returned
// whatever its status; an error is the proxy's own refusal (an *HTTPError: no matches, an
// invalid request, the target down or too slow) or a transport failure.
func (r REST) Proxy(ctx context.Context, pr ProxyRequest) (ProxyResponse, error) {
	body := map[string]any{"method": pr.Method, "route": pr.Route, "query": pr.Query, "body": pr.Body}
	if pr.Headers != nil {
		h := make(map[string]any, len(pr.Headers))
		for k, v := range pr.Headers {
			h[k] = v
		}
		body["headers"] = h
	}
	b, err := json.Marshal(floatsAsFloats(body))
	if err != nil {
		return ProxyResponse{}, fmt.Errorf("singyeong: encode proxy request: %w", err)
	}
	hc := r.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(httpBase(r.Server), "/")+"/api/v1/proxy", bytes.NewReader(b))
	if err != nil {
		return ProxyResponse{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if r.Auth != "" {
		req.Header.Set("Authorization", r.Auth)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return ProxyResponse{}, fmt.Errorf("singyeong: proxy: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return ProxyResponse{}, fmt.Errorf("singyeong: read proxy answer: %w", err)
	}
	if code := resp.Header.Get("X-Singyeong-Proxy-Error"); code != "" {
		return ProxyResponse{}, &HTTPError{Status: resp.StatusCode, Code: code, Body: string(raw)}
	}
	return ProxyResponse{Status: resp.StatusCode, Header: resp.Header, Body: raw}, nil
}

// httpBase turns a ws(s) URL into http(s).
func httpBase(server string) string {
	switch {
	case strings.HasPrefix(server, "ws://"):
		return "http://" + strings.TrimPrefix(server, "ws://")
	case strings.HasPrefix(server, "wss://"):
		return "https://" + strings.TrimPrefix(server, "wss://")
	}
	return server
}
