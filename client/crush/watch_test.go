package crush_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/mahou-go/mahou/client/crush"
	"github.com/mahou-go/mahou/kv/server"
)

// watchProxy forwards to a server and records the Last-Event-ID of every watch request; its
// client connections can be cut to break a watch.
type watchProxy struct {
	srv *httptest.Server
	// answered receives a value when a watch answer's headers pass through.
	answered chan struct{}

	mu      sync.Mutex // guards lastIDs
	lastIDs []string
}

func newWatchProxy(t *testing.T, addr string) *watchProxy {
	t.Helper()
	p := &watchProxy{answered: make(chan struct{}, 16)}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: addr})
	rp.FlushInterval = -1
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path == "/v2/watch" {
			p.answered <- struct{}{}
		}
		return nil
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/watch" {
			p.mu.Lock()
			p.lastIDs = append(p.lastIDs, r.Header.Get("Last-Event-ID"))
			p.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *watchProxy) ids() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lastIDs...)
}

func (p *watchProxy) waitAnswered(t *testing.T) {
	t.Helper()
	select {
	case <-p.answered:
	case <-time.After(waitFor):
		t.Fatal("the watch was never answered")
	}
}

// collect runs a watch in the background and hands its change events (not progress) to a
// channel; done receives the iteration's final error (nil when it just ended).
func collect(c *crush.Client, ctx context.Context, opts *crush.WatchOptions) (<-chan crush.Event, <-chan error) {
	events, done := make(chan crush.Event, 64), make(chan error, 1)
	go func() {
		var last error
		for ev, err := range c.Watch(ctx, opts) {
			if err != nil {
				last = err
				continue
			}
			if ev.Type != "progress" {
				events <- ev
			}
		}
		done <- last
	}()
	return events, done
}

func next(t *testing.T, events <-chan crush.Event) crush.Event {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case <-time.After(waitFor):
		t.Fatal("no event")
	}
	return crush.Event{}
}

func TestClient_Watch(t *testing.T) {
	s := startServer(t)
	proxy := newWatchProxy(t, s.Addr())
	watcher := newClient(t, proxy.srv.URL)
	// writes go straight to the server: cutting the proxy's connections must not fail them
	c := newClient(t, s.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mustPut(t, c, ctx, "other", "x", nil)

	events, done := collect(watcher, ctx, &crush.WatchOptions{Prefix: "w/"})
	proxy.waitAnswered(t)
	mustPut(t, c, ctx, "w/a", "1", nil)
	mustPut(t, c, ctx, "other", "y", nil)
	if _, err := c.Txn(ctx, crush.Txn{Then: []crush.TxnOp{crush.OpPut("w/b", []byte("2")), crush.OpPut("w/c", []byte("3"))}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(ctx, "w/a", nil); err != nil {
		t.Fatal(err)
	}
	want := []crush.Event{
		{Type: "put", Key: "w/a", Fork: "default", Rev: 0, Revision: 2, Value: []byte("1")},
		{Type: "put", Key: "w/b", Fork: "default", Rev: 0, Revision: 4, Value: []byte("2")},
		{Type: "put", Key: "w/c", Fork: "default", Rev: 0, Revision: 4, Value: []byte("3")},
		{Type: "delete", Key: "w/a", Fork: "default", Rev: 1, Revision: 5, Deleted: true},
	}
	for i, w := range want {
		ev := next(t, events)
		if ev.Time.IsZero() {
			t.Fatalf("event %d has no time", i)
		}
		ev.Time = time.Time{}
		if !reflect.DeepEqual(ev, w) {
			t.Fatalf("event %d: got %+v, want %+v", i, ev, w)
		}
	}

	// cut the stream: the watch reconnects and resumes after revision 5, losing and repeating nothing
	proxy.srv.CloseClientConnections()
	mustPut(t, c, ctx, "w/d", "4", nil)
	if ev := next(t, events); ev.Key != "w/d" || ev.Revision != 6 {
		t.Fatalf("after the reconnect: got %+v, want w/d at revision 6", ev)
	}
	ids := proxy.ids()
	if len(ids) < 2 || ids[0] != "" || ids[len(ids)-1] != "5" {
		t.Fatalf("got Last-Event-IDs %q, want none first and 5 on the reconnect", ids)
	}
	select {
	case ev := <-events:
		t.Fatalf("got an extra event %+v", ev)
	default:
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("got %v after cancel, want the watch to end without an error", err)
		}
	case <-time.After(waitFor):
		t.Fatal("the watch did not stop on cancel")
	}
}

func TestClient_WatchFromRevision(t *testing.T) {
	c, ctx := setup(t)
	mustPut(t, c, ctx, "k", "a", nil)
	mustPut(t, c, ctx, "k", "b", &crush.PutOptions{Fork: "f"})
	mustPut(t, c, ctx, "k", "c", &crush.PutOptions{Fork: "f"})
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, _ := collect(c, wctx, &crush.WatchOptions{Fork: "f", Key: "k", FromRevision: 1, NoValues: true})
	for _, want := range []int64{2, 3} {
		if ev := next(t, events); ev.Revision != want || ev.Fork != "f" || ev.Value != nil {
			t.Fatalf("got %+v, want revision %d of f/k without a value", ev, want)
		}
	}

	if _, err := c.Compact(ctx, 3); err != nil {
		t.Fatal(err)
	}
	for ev, err := range c.Watch(ctx, &crush.WatchOptions{FromRevision: 1}) {
		if ev.Type != "" {
			t.Fatalf("got event %+v from a compacted revision", ev)
		}
		e := apiError(t, err, 410, "compacted")
		if !errors.Is(err, crush.ErrCompacted) || e.CompactedRevision != 3 {
			t.Fatalf("got %+v, want compacted_revision 3", e)
		}
	}
	for _, err := range c.Watch(ctx, &crush.WatchOptions{Key: "k", Prefix: "x"}) {
		apiError(t, err, 400, "invalid_target")
	}
}

func TestClient_WatchProgress(t *testing.T) {
	s := startServer(t, func(cfg *server.Config) { cfg.WatchProgressInterval = 20 * time.Millisecond })
	c := newClient(t, s.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	mustPut(t, c, ctx, "a", "1", nil)
	mustPut(t, c, ctx, "b", "2", nil)
	var got []string
	for ev, err := range c.Watch(ctx, &crush.WatchOptions{Key: "a", FromRevision: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %d", ev.Type, ev.Revision))
		if ev.Type == "progress" {
			break
		}
	}
	if want := []string{"put 1", "progress 2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q: the progress event says every change up to revision 2 was sent", got, want)
	}
}

// scriptedWatch serves one scripted answer per watch request and records Last-Event-ID.
func scriptedWatch(t *testing.T, answers []string) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var ids []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := len(ids)
		ids = append(ids, r.Header.Get("Last-Event-ID"))
		mu.Unlock()
		if n >= len(answers) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, `{"error":"unavailable","message":"scripted outage"}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Crush-Revision", "4")
		fmt.Fprint(w, answers[n])
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), ids...)
	}
}

func TestClient_WatchResumeMidRevision(t *testing.T) {
	a := `{"type":"put","key":"a","fork":"default","rev":0,"revision":5}`
	b := `{"type":"put","key":"b","fork":"default","rev":0,"revision":5}`
	srv, ids := scriptedWatch(t, []string{
		": a comment\ndata: " + a + "\n\n",
		"data: " + a + "\n\nid: 5\ndata: " + b + "\n\ndata: {\"type\":\"progress\",\"revision\":9}\n\n",
		"event: error\ndata: {\"type\":\"error\",\"error\":\"compacted\",\"message\":\"gone\"}\n\n",
	})
	c := newClient(t, srv.URL)
	var got []string
	var last error
	for ev, err := range c.Watch(context.Background(), nil) {
		if err != nil {
			last = err
			continue
		}
		got = append(got, fmt.Sprintf("%s %s %d", ev.Type, ev.Key, ev.Revision))
	}
	if want := []string{"put a 5", "put b 5", "progress  9"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !errors.Is(last, crush.ErrCompacted) {
		t.Fatalf("got final error %v, want ErrCompacted", last)
	}
	if want := []string{"", "4", "9"}; !reflect.DeepEqual(ids(), want) {
		t.Fatalf("got Last-Event-IDs %q, want %q", ids(), want)
	}
}

func TestClient_WatchGivesUp(t *testing.T) {
	srv, ids := scriptedWatch(t, []string{"id: 7\ndata: {\"type\":\"put\",\"key\":\"a\",\"revision\":7}\n\n"})
	c := newClient(t, srv.URL)
	var last error
	n := 0
	for _, err := range c.Watch(context.Background(), &crush.WatchOptions{ReconnectFor: 200 * time.Millisecond}) {
		if err != nil {
			last = err
		} else {
			n++
		}
	}
	if n != 1 || !errors.Is(last, crush.ErrUnavailable) {
		t.Fatalf("got %d events and %v, want 1 event then ErrUnavailable", n, last)
	}
	if got := ids(); len(got) < 3 || got[1] != "7" {
		t.Fatalf("got Last-Event-IDs %q, want reconnects resuming after 7", got)
	}

	dead := newClient(t, deadAddr(t))
	for _, err := range dead.Watch(context.Background(), nil) {
		if err == nil {
			t.Fatal("got an event from a dead endpoint")
		}
		var e *crush.Error
		if errors.As(err, &e) {
			t.Fatalf("got %v, want a connection error", err)
		}
	}
}
