package kvhttp_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// api speaks raw HTTP to a crush node, so these tests check the wire, not a client library.
type api struct {
	t    testing.TB
	base string
}

// with returns the same API for a subtest, so failures stop the subtest.
func (a *api) with(t testing.TB) *api { return &api{t: t, base: a.base} }

type response struct {
	t      testing.TB
	code   int
	header http.Header
	body   []byte
	what   string
}

// do sends a request; hdr is a list of "Name: value" strings.
func (a *api) do(method, path string, body []byte, hdr ...string) *response {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return &response{t: a.t, code: resp.StatusCode, header: resp.Header, body: b, what: method + " " + path}
}

func (a *api) get(path string, hdr ...string) *response {
	return a.do(http.MethodGet, path, nil, hdr...)
}

func (a *api) put(path, body string, hdr ...string) *response {
	return a.do(http.MethodPut, path, []byte(body), hdr...)
}

func (a *api) post(path, body string) *response { return a.do(http.MethodPost, path, []byte(body)) }

// status checks the status code.
func (r *response) status(want int) *response {
	r.t.Helper()
	if r.code != want {
		r.t.Fatalf("%s: status %d, want %d; body %s", r.what, r.code, want, r.body)
	}
	return r
}

// is checks the status and that the body is exactly the JSON want (compared as values).
func (r *response) is(code int, want string) *response {
	r.t.Helper()
	r.status(code)
	var got, exp any
	if err := json.Unmarshal(r.body, &got); err != nil {
		r.t.Fatalf("%s: body %q is not JSON: %v", r.what, r.body, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		r.t.Fatalf("bad expectation %q: %v", want, err)
	}
	if !jsonEqual(got, exp) {
		r.t.Fatalf("%s: body %s, want %s", r.what, r.body, want)
	}
	return r
}

// errIs checks an error response's status and stable code.
func (r *response) errIs(code int, errCode string) *response {
	r.t.Helper()
	r.status(code)
	if got := r.field("error"); got != errCode {
		r.t.Fatalf("%s: error code %v, want %q; body %s", r.what, got, errCode, r.body)
	}
	if msg, _ := r.field("message").(string); msg == "" {
		r.t.Fatalf("%s: error without a message: %s", r.what, r.body)
	}
	return r
}

// field reads a top-level JSON field (numbers as float64).
func (r *response) field(name string) any {
	r.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		r.t.Fatalf("%s: body %q is not a JSON object: %v", r.what, r.body, err)
	}
	return m[name]
}

// has checks top-level fields against expected JSON values.
func (r *response) has(fields map[string]string) *response {
	r.t.Helper()
	for k, want := range fields {
		var exp any
		if err := json.Unmarshal([]byte(want), &exp); err != nil {
			r.t.Fatalf("bad expectation for %s: %q", k, want)
		}
		if got := r.field(k); !jsonEqual(got, exp) {
			b, _ := json.Marshal(got)
			r.t.Fatalf("%s: %s = %s, want %s; body %s", r.what, k, b, want, r.body)
		}
	}
	return r
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func q(s string) string { b, _ := json.Marshal(s); return string(b) }
