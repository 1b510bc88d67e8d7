package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mahou-go/mahou/kv/raftnode"
	"github.com/mahou-go/mahou/kv/server"
)

// startCrushServer runs a single crush node in this process on loopback and waits until it
// serves linearizable reads.
func startCrushServer(t testing.TB) *server.Server {
	t.Helper()
	return startCrushServerIn(t, t.TempDir())
}

// startCrushServerIn is startCrushServer with the data in dir.
func startCrushServerIn(t testing.TB, dir string) *server.Server {
	t.Helper()
	s, err := server.New(server.Config{Addr: "127.0.0.1:0", RaftAddr: "127.0.0.1:0", DataDir: dir,
		Raft: raftnode.Config{HeartbeatTimeout: 100 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond,
			LeaderLeaseTimeout: 50 * time.Millisecond}})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	if err := s.Open(); err != nil {
		t.Fatalf("open server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	waitHTTP200(t, "http://"+s.Addr()+"/readyz")
	return s
}

// waitHTTP200 polls url until it answers 200, failing the test after 10 s.
func waitHTTP200(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not ready after 10s", url)
}

// crushDial dials the in-process server.
func crushDial(s *server.Server) dialFunc {
	return func(int) (client, error) { return newCrushClient(s.Addr()), nil }
}

// crushRevision reads the server's store revision.
func crushRevision(t testing.TB, s *server.Server) int64 {
	t.Helper()
	c := newCrushClient(s.Addr())
	defer c.Close()
	r, err := c.Revision(context.Background())
	if err != nil {
		t.Fatalf("read revision: %v", err)
	}
	return r
}

// errInjected is the failure fakeClient returns.
var errInjected = errors.New("injected failure")

// fakeClient acknowledges operations after a short pause; with failAfter > 0 the operation
// numbered failAfter (counted over every fakeClient sharing acked) fails instead.
type fakeClient struct {
	acked     *atomic.Int64
	calls     *atomic.Int64
	failAfter int64
	value     []byte
}

func (f *fakeClient) op(ctx context.Context) error {
	n := f.calls.Add(1)
	time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
	if f.failAfter > 0 && n == f.failAfter {
		return errInjected
	}
	f.acked.Add(1)
	return nil
}

func (f *fakeClient) Put(ctx context.Context, _ string, _ []byte) (int64, error) {
	return 0, f.op(ctx)
}

func (f *fakeClient) Get(ctx context.Context, _ string) ([]byte, error) {
	return f.value, f.op(ctx)
}

func (f *fakeClient) GetAt(ctx context.Context, _ string, _ int64) ([]byte, error) {
	return f.value, f.op(ctx)
}

func (f *fakeClient) Close() error { return nil }

// fakeDial returns clients that share the counters.
func fakeDial(acked, calls *atomic.Int64, failAfter int64, value []byte) dialFunc {
	return func(int) (client, error) {
		return &fakeClient{acked: acked, calls: calls, failAfter: failAfter, value: value}, nil
	}
}
