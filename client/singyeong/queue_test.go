package singyeong_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/mahou-go/mahou/bus/server"
	singyeong "github.com/mahou-go/mahou/client/singyeong"
)

// startNode runs a whole node (gateway, queues, proxy) in-process.
func startNode(tb testing.TB, mutate func(*server.Config)) *server.Server {
	tb.Helper()
	cfg := server.DefaultConfig()
	cfg.Gateway.Addr, cfg.Gateway.DataDir = "127.0.0.1:0", tb.TempDir()
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := server.New(cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

func dialNode(tb testing.TB, s *server.Server, opts singyeong.Options) *singyeong.Client {
	tb.Helper()
	opts.URL = "http://" + s.Addr()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := singyeong.Dial(ctx, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func nextMessage(tb testing.TB, c *singyeong.Client) singyeong.QueueMessage {
	tb.Helper()
	f := next(tb, c)
	m, ok := f.QueueMessage()
	if !ok {
		tb.Fatalf("got %+v, want a queue message", f)
	}
	return m
}

func TestClient_Queues(t *testing.T) {
	s := startNode(t, func(c *server.Config) { c.Queue.MaxDeliveries = 2 })
	ctx := context.Background()
	for _, enc := range []singyeong.Encoding{singyeong.JSON, singyeong.Msgpack} {
		t.Run(string(enc), func(t *testing.T) {
			q := "jobs-" + string(enc)
			p := dialNode(t, s, singyeong.Options{AppID: "producer", Encoding: enc})
			w := dialNode(t, s, singyeong.Options{AppID: "worker", Encoding: enc})
			if err := p.Queue(ctx, q, map[string]any{"application": "worker"}, map[string]any{"n": 1, "f": 1.0}, "nonce"); err != nil {
				t.Fatal(err)
			}
			if err := w.QueueRequest(ctx, q); err != nil {
				t.Fatal(err)
			}
			m := nextMessage(t, w)
			if pl := m.Payload.(map[string]any); m.Queue != q || m.Nonce != "nonce" || pl["n"] != int64(1) || pl["f"] != 1.0 || m.ID == "" {
				t.Errorf("got %+v", m)
			}
			if err := w.Nack(ctx, q, m.ID, 50*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			w.QueueRequest(ctx, q)
			again := nextMessage(t, w)
			if again.ID != m.ID {
				t.Fatalf("got %s, want %s again", again.ID, m.ID)
			}
			if err := w.Ack(ctx, q, again.ID); err != nil {
				t.Fatal(err)
			}
			// An ACK is on disk once a later QUEUE of the same client is confirmed.
			if err := w.Queue(ctx, q, map[string]any{"application": "nobody"}, "marker", nil); err != nil {
				t.Fatal(err)
			}
			st, err := singyeong.REST{Server: "http://" + s.Addr()}.QueueStats(ctx, q)
			if err != nil || st.InFlight != 0 || st.Ready != 1 || st.Depth != 1 {
				t.Errorf("stats: %+v %v", st, err)
			}
		})
	}
}

func TestClient_QueueOutcomesMatchTheirCalls(t *testing.T) {
	s := startNode(t, nil)
	p := dialNode(t, s, singyeong.Options{AppID: "producer", Encoding: singyeong.Msgpack})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var target any
			if i%4 == 0 {
				target = "not a query"
			}
			errs[i] = p.Queue(ctx, "q", target, i, nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		var se *singyeong.ServerError
		if i%4 == 0 {
			if !errors.As(err, &se) || se.Message != "invalid query" {
				t.Errorf("call %d: got %v, want invalid query", i, err)
			}
		} else if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if st, _ := (singyeong.REST{Server: "http://" + s.Addr()}).QueueStats(ctx, "q"); st.Ready != 30 {
		t.Errorf("got %+v, want 30 ready", st)
	}
	if err := p.Queue(ctx, "", nil, nil, nil); err == nil {
		t.Error("empty queue name accepted")
	}
}

func TestClient_QueueAdmin(t *testing.T) {
	s := startNode(t, func(c *server.Config) { c.Queue.MaxDeliveries = 1; c.Gateway.Auth = "pw" })
	ctx := context.Background()
	w := dialNode(t, s, singyeong.Options{AppID: "worker", Auth: "pw"})
	var ids []string
	for i := range 3 {
		if err := w.Queue(ctx, "q", nil, i, nil); err != nil {
			t.Fatal(err)
		}
		w.QueueRequest(ctx, "q")
		m := nextMessage(t, w)
		w.Nack(ctx, "q", m.ID, 0)
		ids = append(ids, m.ID)
	}
	w.Queue(ctx, "q", map[string]any{"application": "nobody"}, "waits", nil)
	api := singyeong.REST{Server: "ws://" + s.Addr(), Auth: "pw"}
	qs, err := api.Queues(ctx)
	if err != nil || len(qs) != 1 || qs[0].Queue != "q" || qs[0].DeadLettered != 3 || qs[0].Depth != 1 {
		t.Fatalf("queues: %+v %v", qs, err)
	}
	page, err := api.DeadLetters(ctx, "q", 0, 2)
	if err != nil || len(page.DeadLetters) != 2 || page.Next == 0 || page.DeadLetters[0].ID != ids[0] || page.DeadLetters[0].Reason != "max_deliveries" {
		t.Fatalf("page: %+v %v", page, err)
	}
	page, _ = api.DeadLetters(ctx, "q", page.Next, 2)
	if len(page.DeadLetters) != 1 || page.Next != 0 {
		t.Fatalf("page 2: %+v", page)
	}
	if n, err := api.PurgeDeadLetters(ctx, "q", []string{ids[0]}); n != 1 || err != nil {
		t.Errorf("purge dead: %d %v", n, err)
	}
	if n, err := api.RequeueDeadLetters(ctx, "q", nil); n != 2 || err != nil {
		t.Errorf("requeue: %d %v", n, err)
	}
	if n, err := api.PurgeQueue(ctx, "q"); n != 3 || err != nil {
		t.Errorf("purge: %d %v", n, err)
	}
	var he *singyeong.HTTPError
	if _, err := api.QueueStats(ctx, "nope"); !errors.As(err, &he) || he.Status != 404 || he.Code != "queue_not_found" {
		t.Errorf("unknown queue: got %v", err)
	}
	if _, err := (singyeong.REST{Server: "http://" + s.Addr()}).Queues(ctx); !errors.As(err, &he) || he.Status != 401 {
		t.Errorf("no password: got %v", err)
	}
}

func TestClient_Proxy(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", r.Header.Get("X-Token"))
		w.WriteHeader(http.StatusTeapot)
		w.Write(append([]byte(r.Method+" "+r.URL.Path+" "), b...))
	}))
	defer up.Close()
	s := startNode(t, nil)
	dialNode(t, s, singyeong.Options{AppID: "web", IP: up.URL})
	api := singyeong.REST{Server: "http://" + s.Addr()}
	resp, err := api.Proxy(context.Background(), singyeong.ProxyRequest{Method: "POST", Route: "/x",
		Query: map[string]any{"application": "web"}, Body: map[string]any{"a": 1}, Headers: map[string]string{"X-Token": "t"}})
	if err != nil || resp.Status != http.StatusTeapot || string(resp.Body) != `POST /x {"a":1}` || resp.Header.Get("X-Seen") != "t" {
		t.Fatalf("got %+v %s %v", resp, resp.Body, err)
	}
	var he *singyeong.HTTPError
	_, err = api.Proxy(context.Background(), singyeong.ProxyRequest{Method: "GET", Route: "/", Query: map[string]any{"application": "nobody"}})
	if !errors.As(err, &he) || he.Status != 400 || he.Code != "no_matches" {
		t.Errorf("no match: got %v", err)
	}
}
