package crush_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/mahou-go/mahou/client/crush"
	"github.com/mahou-go/mahou/kv/raftnode"
	"github.com/mahou-go/mahou/kv/server"
)

// waitFor bounds every wait of these tests.
const waitFor = 10 * time.Second

// startServer runs a single crush node on 127.0.0.1:0 and waits until it is ready; tune
// changes its configuration first.
func startServer(t testing.TB, tune ...func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.Config{
		Addr: "127.0.0.1:0", RaftAddr: "127.0.0.1:0", DataDir: t.TempDir(), Version: "test",
		Raft: raftnode.Config{HeartbeatTimeout: 100 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond,
			LeaderLeaseTimeout: 50 * time.Millisecond},
	}
	for _, f := range tune {
		f(&cfg)
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	waitReady(t, newClient(t, s.Addr()))
	return s
}

// waitReady polls Ready until it succeeds or the deadline passes.
func waitReady(t testing.TB, c *crush.Client) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ready(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never ready: %v", err)
		}
	}
}

func newClient(t testing.TB, endpoints ...string) *crush.Client {
	t.Helper()
	c, err := crush.New(endpoints, crush.WithTimeout(waitFor), crush.WithRetryWait(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// setup starts a server and returns a client of it.
func setup(t testing.TB) (*crush.Client, context.Context) {
	t.Helper()
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitFor)
	t.Cleanup(cancel)
	return newClient(t, "http://"+s.Addr()), ctx
}

// deadAddr is an address where nothing listens.
func deadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// apiError asserts err is an *Error with the given status and code.
func apiError(t testing.TB, err error, status int, code string) *crush.Error {
	t.Helper()
	var e *crush.Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want an *crush.Error %d %s", err, err, status, code)
	}
	if e.StatusCode != status || e.Code != code {
		t.Fatalf("got %d %s (%s), want %d %s", e.StatusCode, e.Code, e.Message, status, code)
	}
	if e.Message == "" {
		t.Errorf("error %s has no message", code)
	}
	return e
}

func mustPut(t testing.TB, c *crush.Client, ctx context.Context, key, value string, opts *crush.PutOptions) crush.WriteResult {
	t.Helper()
	res, err := c.Put(ctx, key, []byte(value), opts)
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return res
}
