package crush_test

import (
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mahou-go/mahou/client/crush"
)

// TestImports keeps the package a pure client: it imports nothing of this module.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if strings.Contains(imp.Path.Value, "github.com/mahou-go/mahou/") {
				t.Errorf("%s imports %s: the client must not import server code", name, imp.Path.Value)
			}
		}
	}
}

func TestNew(t *testing.T) {
	cases := []struct {
		name      string
		endpoints []string
		want      []string
		err       string
	}{
		{"host:port", []string{"127.0.0.1:7654"}, []string{"http://127.0.0.1:7654"}, ""},
		{"urls", []string{"http://a:1/", " https://b:2/crush ", ""}, []string{"http://a:1", "https://b:2/crush"}, ""},
		{"none", nil, nil, "no endpoints"},
		{"blank", []string{" "}, nil, "no endpoints"},
		{"scheme", []string{"ftp://a:1"}, nil, "scheme"},
		{"query", []string{"http://a:1/?x=1"}, nil, "no query"},
		{"no host", []string{"http://"}, nil, "no host"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := crush.New(tc.endpoints)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Endpoints(); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// fakeEndpoint answers every request with status and body, counting requests by method.
type fakeEndpoint struct {
	srv           *httptest.Server
	reads, writes atomic.Int64
}

func newFake(t *testing.T, status int, retryAfter, body string) *fakeEndpoint {
	t.Helper()
	f := &fakeEndpoint{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			f.reads.Add(1)
		} else {
			f.writes.Add(1)
		}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

const notLeaderBody = `{"error":"not_leader","message":"not the leader: retry on the leader","leader_id":"n2"}`

func TestClient_Failover(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	t.Run("dead endpoint", func(t *testing.T) {
		c := newClient(t, deadAddr(t), s.Addr())
		if _, err := c.Put(ctx, "k", []byte("v"), nil); err != nil {
			t.Fatalf("a write refused by the first endpoint must go to the second: %v", err)
		}
		if rec, err := c.Get(ctx, "k", nil); err != nil || string(rec.Value) != "v" {
			t.Fatalf("got %q, %v, want v", rec.Value, err)
		}
	})
	t.Run("not leader", func(t *testing.T) {
		follower := newFake(t, http.StatusServiceUnavailable, "1", notLeaderBody)
		c := newClient(t, follower.srv.URL, s.Addr())
		_, err := c.Put(ctx, "k2", []byte("v"), nil)
		e := apiError(t, err, 503, "not_leader")
		if !errors.Is(err, crush.ErrNotLeader) || e.LeaderID != "n2" || follower.writes.Load() != 1 {
			t.Fatalf("got %+v after %d writes, want the write not retried", e, follower.writes.Load())
		}
		if _, err := c.Get(ctx, "k2", nil); !errors.Is(err, crush.ErrNotFound) {
			t.Fatalf("got %v, want the read to reach the leader and find nothing", err)
		}
		if _, err := c.Put(ctx, "k2", []byte("v"), nil); err != nil {
			t.Fatalf("the next write must go to the endpoint that answered last: %v", err)
		}
		if follower.reads.Load() != 1 || follower.writes.Load() != 1 {
			t.Fatalf("got %d reads and %d writes on the follower, want 1 and 1", follower.reads.Load(), follower.writes.Load())
		}
	})
	t.Run("every endpoint down", func(t *testing.T) {
		c := newClient(t, deadAddr(t), deadAddr(t))
		_, err := c.Get(ctx, "k", nil)
		var e *crush.Error
		if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "GET http://127.0.0.1:") {
			t.Fatalf("got %v, want a connection error naming the request", err)
		}
	})
}

func TestClient_RetryAfter(t *testing.T) {
	ctx := context.Background()
	busy := newFake(t, http.StatusServiceUnavailable, "1", `{"error":"unavailable","message":"starting"}`)
	c := newClient(t, busy.srv.URL)
	start := time.Now()
	if err := c.Health(ctx); !errors.Is(err, crush.ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	if n := busy.reads.Load(); n != 2 {
		t.Fatalf("got %d attempts, want 2 (one more round after Retry-After)", n)
	}
	if waited := time.Since(start); waited >= time.Second {
		t.Fatalf("waited %v, want the Retry-After capped by WithRetryWait", waited)
	}

	var calls atomic.Int64
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":"unavailable","message":"electing"}`)
			return
		}
		fmt.Fprint(w, `{"status":"ok"}`)
	}))
	defer flaky.Close()
	if err := newClient(t, flaky.URL).Health(ctx); err != nil {
		t.Fatalf("got %v, want the second round to succeed", err)
	}
}

func TestClient_ErrorBodies(t *testing.T) {
	ctx := context.Background()
	t.Run("not json", func(t *testing.T) {
		proxy := newFake(t, http.StatusBadGateway, "", "<html>bad gateway</html>")
		err := newClient(t, proxy.srv.URL).Health(ctx)
		e := apiError(t, err, 502, "http_bad_gateway")
		if !strings.Contains(e.Message, "bad gateway</html>") {
			t.Fatalf("got message %q, want the body quoted", e.Message)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
		defer hang.Close()
		c, err := crush.New([]string{hang.URL}, crush.WithTimeout(50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Health(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want a deadline error", err)
		}
	})
}
