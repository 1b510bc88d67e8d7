package proxy_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/internal/wstest"
	"github.com/mahou-go/mahou/bus/proxy"
	"github.com/mahou-go/mahou/bus/server"
	"github.com/mahou-go/mahou/bus/wire"
)

// start runs a whole node (bus/server) on 127.0.0.1:0.
func start(tb testing.TB, mutate func(*gateway.Config, *proxy.Config)) *gateway.Server {
	tb.Helper()
	cfg := server.DefaultConfig()
	cfg.Gateway.Addr, cfg.Gateway.DataDir = "127.0.0.1:0", tb.TempDir()
	if mutate != nil {
		mutate(&cfg.Gateway, &cfg.Proxy)
	}
	node, err := server.New(cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := node.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wstest.WaitFor)
		defer cancel()
		node.Close(ctx)
	})
	return node.Gateway()
}

// upstream is a local HTTP server that records what it receives.
type upstream struct {
	*httptest.Server
	got    chan *http.Request
	bodies chan string
}

func newUpstream(tb testing.TB, h http.HandlerFunc) *upstream {
	u := &upstream{got: make(chan *http.Request, 64), bodies: make(chan string, 64)}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.got <- r
		u.bodies <- string(b)
		h(w, r)
	}))
	tb.Cleanup(u.Close)
	return u
}

type answer struct {
	status int
	header http.Header
	body   string
}

func call(tb testing.TB, srv *gateway.Server, auth, body string) answer {
	tb.Helper()
	req, _ := http.NewRequest("POST", "http://"+srv.Addr()+"/api/v1/proxy", strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func decode(tb testing.TB, s string) any {
	tb.Helper()
	v, err := wire.Decode(wire.JSON, []byte(s), wire.Limits{})
	if err != nil {
		tb.Fatalf("%q: %v", s, err)
	}
	return v
}

func TestProxy_Validation(t *testing.T) {
	srv := start(t, func(g *gateway.Config, _ *proxy.Config) { g.MaxBodyBytes = 512 })
	wstest.Connect(t, srv.Addr(), wire.JSON, "web", "w1", map[string]any{"ip": "127.0.0.1:1"})
	q := `"query":{"application":"web"}`
	cases := []struct {
		body   string
		status int
		want   any
	}{
		{`{"route":"/",` + q + `}`, 400, map[string]any{"method": []any{"no method provided"}}},
		{`{"method":"GET",` + q + `}`, 400, map[string]any{"route": []any{"no route provided"}}},
		{`{"method":"GET","route":"/"}`, 400, map[string]any{"query": []any{"no query provided"}}},
		{`{}`, 400, map[string]any{"method": []any{"no method provided"}, "route": []any{"no route provided"}, "query": []any{"no query provided"}}},
		{`{"method":"FETCH","route":"/",` + q + `}`, 400, map[string]any{"errors": []any{
			`FETCH is not a valid method! (valid methods: ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"])`}}},
		{`{"method":"options","route":"/",` + q + `}`, 400, map[string]any{"errors": []any{
			`OPTIONS is not a supported method! (unsupported methods: ["CONNECT", "OPTIONS", "TRACE"])`}}},
		{`{"method":"GET","route":"/","body":{"a":1},` + q + `}`, 400, map[string]any{"errors": []any{
			"no body required but one given (you probably wanted to send nil)"}}},
		{`{"method":"GET","route":"/","query":{"application":"nobody"}}`, 400, map[string]any{"errors": []any{"no matches"}}},
	}
	for _, tc := range cases {
		a := call(t, srv, "", tc.body)
		if got := decode(t, a.body); a.status != tc.status || !reflect.DeepEqual(got, tc.want) || a.header.Get(proxy.ErrorHeader) == "" {
			t.Errorf("%s: got %d %v, want %d %v", tc.body, a.status, got, tc.status, tc.want)
		}
	}
	// Checks the original did not make: the house's error codes, with "errors" kept for its clients.
	for body, code := range map[string]string{
		`{"method":"GET",`:                                                                "invalid_json",
		`{"method":"GET","route":"/","query":[]}`:                                         "invalid_query",
		`{"method":"GET","route":5,` + q + `}`:                                            "invalid_request",
		`{"method":"GET","route":"/","headers":{"a":1},` + q + `}`:                        "invalid_request",
		`{"method":"GET","route":"/","headers":{"a b":"c"},` + q + `}`:                    "invalid_request",
		`{"method":"GET","route":"/",` + q + `,"pad":"` + strings.Repeat("x", 600) + `"}`: "body_too_large",
	} {
		a := call(t, srv, "", body)
		m, _ := decode(t, a.body).(map[string]any)
		errs, _ := m["errors"].([]any)
		if m["error"] != code || len(errs) != 1 || errs[0] != m["message"] || a.status/100 != 4 || a.header.Get(proxy.ErrorHeader) != code {
			t.Errorf("%s: got %d %s, want code %s", body, a.status, a.body, code)
		}
	}
}

func TestProxy_Passthrough(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=latin1")
		w.Header().Set("X-Upstream-Thing", "yes")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "raw answer \x00\xff")
	})
	srv := start(t, nil)
	// The ip has no scheme: http:// is added.
	wstest.Connect(t, srv.Addr(), wire.Msgpack, "web", "w1", map[string]any{"ip": strings.TrimPrefix(up.URL, "http://")})
	a := call(t, srv, "", `{"method":"get","route":"/items?x=1","query":{"application":"web"},"headers":{"X-Token":"t","Host":"example.test"}}`)
	if a.status != http.StatusCreated || a.body != "raw answer \x00\xff" {
		t.Fatalf("got %d %q", a.status, a.body)
	}
	if a.header.Get("Content-Type") != "text/plain; charset=latin1" || a.header.Get("X-Upstream-Thing") != "yes" || a.header.Get(proxy.ErrorHeader) != "" {
		t.Errorf("headers: %v", a.header)
	}
	r := <-up.got
	if r.Method != "GET" || r.URL.String() != "/items?x=1" || r.Header.Get("X-Token") != "t" || r.Host != "example.test" ||
		r.Header.Get("X-Forwarded-For") != "127.0.0.1" {
		t.Errorf("upstream got %s %s host %s headers %v", r.Method, r.URL, r.Host, r.Header)
	}
	<-up.bodies
	for body, want := range map[string]string{
		`{"method":"POST","route":"echo","query":{"application":"web"},"body":{"a":[1,2.5]}}`: `{"a":[1,2.5]}`,
		`{"method":"PUT","route":"echo","query":{"application":"web"},"body":"raw text"}`:     "raw text",
		`{"method":"DELETE","route":"echo","query":{"application":"web"}}`:                    "",
	} {
		if a := call(t, srv, "", body); a.status != http.StatusCreated {
			t.Errorf("%s: %d %s", body, a.status, a.body)
		}
		if r, got := <-up.got, <-up.bodies; got != want || r.URL.Path != "/echo" {
			t.Errorf("%s: upstream got %s %q, want %q", body, r.URL.Path, got, want)
		}
	}
}

func TestProxy_TargetChoice(t *testing.T) {
	hit := func(name string) *upstream {
		return newUpstream(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })
	}
	a, b := hit("a"), hit("b")
	srv := start(t, func(g *gateway.Config, _ *proxy.Config) { g.Auth = "pw" })
	with := func(ip string, load int64) map[string]any {
		return map[string]any{"auth": "pw", "ip": ip, "metadata": map[string]any{"load": map[string]any{"type": "integer", "value": load}}}
	}
	wstest.Connect(t, srv.Addr(), wire.JSON, "web", "a", with(a.URL, 5))
	wstest.Connect(t, srv.Addr(), wire.JSON, "web", "b", with(b.URL, 1))
	wstest.Connect(t, srv.Addr(), wire.JSON, "web", "restricted", nil) // no password: no ip, never a target
	seen := map[string]int{}
	for range 40 {
		ans := call(t, srv, "pw", `{"method":"GET","route":"/","query":{"application":"web","restricted":true}}`)
		seen[ans.body]++
	}
	if seen["a"] == 0 || seen["b"] == 0 || len(seen) != 2 {
		t.Errorf("40 requests reached %v, want both a and b", seen)
	}
}

func TestProxy_Selector(t *testing.T) {
	a := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "a") })
	b := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "b") })
	srv := start(t, nil)
	load := func(ip string, n int64) map[string]any {
		return map[string]any{"ip": ip, "metadata": map[string]any{"load": map[string]any{"type": "integer", "value": n}}}
	}
	wstest.Connect(t, srv.Addr(), wire.JSON, "web", "a", load(a.URL, 5))
	wstest.Connect(t, srv.Addr(), wire.JSON, "web", "b", load(b.URL+"/", 1))
	for range 5 {
		if ans := call(t, srv, "", `{"method":"GET","route":"/x","query":{"application":"web","selector":{"$min":"load"}}}`); ans.body != "b" {
			t.Fatalf("got %d %q, want b (least loaded)", ans.status, ans.body)
		}
		if r := <-b.got; r.URL.Path != "/x" {
			t.Errorf("path %q, want /x (one slash)", r.URL.Path)
		}
	}
}

func TestProxy_TargetDownSlowOrTooLarge(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close() // nothing listens there now
	release := make(chan struct{})
	slow := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	big := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat("x", 2048)) })
	redirect := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, big.URL+"/there", http.StatusFound) })
	srv := start(t, func(_ *gateway.Config, p *proxy.Config) {
		p.Timeout = 300 * time.Millisecond
		p.MaxResponseBytes = 1024
	})
	for id, ip := range map[string]string{"down": down, "slow": slow.URL, "big": big.URL, "redirect": redirect.URL} {
		wstest.Connect(t, srv.Addr(), wire.JSON, id, id, map[string]any{"ip": ip})
	}
	for app, want := range map[string]struct {
		status int
		code   string
	}{"down": {502, "target_unreachable"}, "slow": {504, "target_timeout"}, "big": {502, "response_too_large"},
		"redirect": {502, "response_too_large"}} {
		start := time.Now()
		a := call(t, srv, "", `{"method":"GET","route":"/","query":{"application":"`+app+`"}}`)
		m, _ := decode(t, a.body).(map[string]any)
		if a.status != want.status || m["error"] != want.code || !strings.Contains(m["message"].(string), "127.0.0.1") {
			t.Errorf("%s: got %d %s, want %d %s", app, a.status, a.body, want.status, want.code)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s: took %v", app, took)
		}
	}
	if r := <-redirect.got; r == nil {
		t.Fatal("redirect not reached")
	}
	if r := <-big.got; r.URL.Path != "/there" && r.URL.Path != "/" {
		t.Errorf("redirect followed to %s", r.URL.Path)
	}
}

func TestProxy_Auth(t *testing.T) {
	srv := start(t, func(g *gateway.Config, _ *proxy.Config) { g.Auth = "pw" })
	if a := call(t, srv, "", `{}`); a.status != http.StatusUnauthorized {
		t.Errorf("got %d, want 401", a.status)
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{`{}`, `{"method":"GET","route":"/","query":{}}`, `{"method":"POST","route":"/","query":null,"body":{"a":1},"headers":{"X":"y"}}`,
		`{"method":5,"route":[],"query":"x"}`, `[1]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := proxy.ParseRequest(body, 64)
		if err != nil {
			var fields proxy.FieldErrors
			var rule *proxy.RuleError
			if !errors.As(err, &fields) && !errors.As(err, &rule) && !errors.Is(err, proxy.ErrInvalidJSON) &&
				!errors.Is(err, proxy.ErrInvalidRequest) && !errors.Is(err, bus.ErrInvalidQuery) {
				t.Fatalf("%q: unexpected error %v", body, err)
			}
			return
		}
		if r.Query == nil || r.Method == "" || r.Headers == nil {
			t.Fatalf("%q: accepted %+v", body, r)
		}
	})
}
