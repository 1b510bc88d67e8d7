package gateway_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/wire"
)

func body(t *testing.T, resp *http.Response) any {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	v, err := wire.Decode(wire.JSON, b, wire.Limits{})
	if err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return v
}

func post(t *testing.T, url, auth, accept, payload string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestREST_Routes(t *testing.T) {
	srv := startServer(t, nil)
	base := "http://" + srv.Addr()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/gateway/websocket" {
		t.Errorf("GET /: got %d %q, want 302 to /gateway/websocket", resp.StatusCode, resp.Header.Get("Location"))
	}
	cases := []struct {
		path   string
		status int
		body   any
	}{
		{"/api/version", 200, map[string]any{"singyeong": "0.0.1", "api": "v1"}},
		{"/nope", 404, map[string]any{"code": int64(404), "error": "not found"}},
		{"/api/v1/query", 404, map[string]any{"code": int64(404), "error": "not found"}}, // GET
		{"/healthz", 200, map[string]any{"status": "ok"}},
		{"/readyz", 200, map[string]any{"status": "ready"}},
	}
	for _, tc := range cases {
		resp := httpGet(t, base+tc.path)
		if got := body(t, resp); resp.StatusCode != tc.status || !reflect.DeepEqual(got, tc.body) {
			t.Errorf("GET %s: got %d %v, want %d %v", tc.path, resp.StatusCode, got, tc.status, tc.body)
		}
	}
	if resp := httpGet(t, base+"/gateway/websocket"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain GET of the websocket: got %d, want 400", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/gateway/websocket?encoding=xml", nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("bad encoding: got %v %v, want 403", resp, err)
	} else {
		resp.Body.Close()
	}
	if resp := post(t, base+"/api/v1/query", "", "text/html", "{}"); resp.StatusCode != http.StatusNotAcceptable {
		t.Errorf("Accept text/html: got %d, want 406", resp.StatusCode)
	}
	metrics := httpGet(t, base+"/metrics")
	b, _ := io.ReadAll(metrics.Body)
	if metrics.StatusCode != 200 || !bytes.Contains(b, []byte("singyeong_connections")) {
		t.Errorf("/metrics: got %d without singyeong_connections", metrics.StatusCode)
	}
}

func TestREST_Query(t *testing.T) {
	srv := startServer(t, func(c *gateway.Config) { c.Auth = "pw" })
	connect(t, srv, wire.Msgpack, "rest", "c1", map[string]any{"auth": "pw", "metadata": meta("tags", "list", []any{"a", "b"}, "r", "float", 1.0)})
	url := "http://" + srv.Addr() + "/api/v1/query"
	if resp := post(t, url, "", "", `{"application":"rest"}`); resp.StatusCode != 401 ||
		!reflect.DeepEqual(body(t, resp), map[string]any{"status": "error", "error": "not authorized"}) {
		t.Errorf("no auth: got %d", resp.StatusCode)
	}
	if resp := post(t, url, "wrong", "", `{"application":"rest"}`); resp.StatusCode != 401 {
		t.Errorf("wrong auth: got %d, want 401", resp.StatusCode)
	}
	resp := post(t, url, "pw", "application/json", `{"application":"rest","ops":[{"path":"/tags","op":"$contains","to":{"value":"b"}}]}`)
	list, _ := body(t, resp).([]any)
	if resp.StatusCode != 200 || len(list) != 1 {
		t.Fatalf("query: got %d %v", resp.StatusCode, list)
	}
	c := list[0].(map[string]any)
	md := c["metadata"].(map[string]any)
	types := c["metadata_types"].(map[string]any)
	if c["app_id"] != "rest" || c["client_id"] != "c1" || c["socket_ip"] != "127.0.0.1" ||
		!reflect.DeepEqual(c["queues"], []any{}) || md["encoding"] != "msgpack" || md["r"] != 1.0 ||
		!reflect.DeepEqual(md["tags"], []any{"a", "b"}) || types["tags"] != "list" ||
		types["receive_client_updates"] != "string" || types["last_heartbeat_time"] != "integer" {
		t.Errorf("client view = %v", c)
	}
	for payload, code := range map[string]string{
		`{`: "invalid_json", `{"ops":"x"}`: "invalid_query", `[1]`: "invalid_query",
		`{"ops":[{"path":"/x","op":"$eq"}]}`: "invalid_query",
	} {
		resp := post(t, url, "pw", "", payload)
		if got := body(t, resp).(map[string]any); resp.StatusCode != 400 || got["error"] != code || got["message"] == "" {
			t.Errorf("%s: got %d %v, want 400 %s", payload, resp.StatusCode, got, code)
		}
	}
}

func TestREST_BodyTooLarge(t *testing.T) {
	srv := startServer(t, func(c *gateway.Config) { c.MaxBodyBytes = 64 })
	resp := post(t, "http://"+srv.Addr()+"/api/v1/query", "", "", `{"application":"`+strings.Repeat("x", 100)+`"}`)
	if got := body(t, resp).(map[string]any); resp.StatusCode != 413 || got["error"] != "body_too_large" {
		t.Errorf("got %d %v, want 413 body_too_large", resp.StatusCode, got)
	}
}

func TestPeerIP_IPv6Format(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	ln.Close()
	srv := startServer(t, func(c *gateway.Config) { c.Addr = "[::1]:0" })
	c := connect(t, srv, wire.JSON, "v6", "c", nil)
	q := map[string]any{"application": "v6", "ops": []any{cmp("/ip", "$eq", "0000:0000:0000:0000:0000:0000:0000:0001")}}
	if got := queryNodes(t, c, q); len(got) != 1 {
		t.Errorf("ip of a [::1] peer: got no match for the original's 8-group form")
	}
}
