package kvhttp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mahou-go/mahou/internal/testutil"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	id   string
	name string
	data map[string]any
}

// watchStream reads server-sent events from a watch request.
type watchStream struct {
	t      testing.TB
	resp   *http.Response
	events chan sseEvent
	cancel context.CancelFunc
}

func openWatch(t testing.TB, url string, hdr ...string) *watchStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("watch: status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	w := &watchStream{t: t, resp: resp, events: make(chan sseEvent, 100), cancel: cancel}
	go w.read()
	t.Cleanup(w.close)
	return w
}

func (w *watchStream) read() {
	defer close(w.events)
	sc := bufio.NewScanner(w.resp.Body)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.data != nil {
				w.events <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.name = line[7:]
		case strings.HasPrefix(line, "data: "):
			_ = json.Unmarshal([]byte(line[6:]), &ev.data)
		}
	}
}

func (w *watchStream) close() {
	w.cancel()
	w.resp.Body.Close()
}

// next returns the next non-progress event.
func (w *watchStream) next() sseEvent {
	w.t.Helper()
	for {
		select {
		case ev, ok := <-w.events:
			if !ok {
				w.t.Fatal("watch stream ended")
			}
			if ev.data["type"] == "progress" {
				continue
			}
			return ev
		case <-time.After(10 * time.Second):
			w.t.Fatal("no watch event within 10s")
		}
	}
}

func (w *watchStream) want(typ, key string, rev int) sseEvent {
	w.t.Helper()
	ev := w.next()
	if ev.data["type"] != typ || ev.data["key"] != key || ev.data["rev"] != float64(rev) {
		w.t.Fatalf("event %v, want %s of %s at rev %d", ev.data, typ, key, rev)
	}
	return ev
}

func TestAPI_Watch(t *testing.T) {
	c := testutil.StartCrush(t, "--watch-progress-interval", "100ms")
	a := &api{t: t, base: c.URL()}
	start := int(a.put("/v2/kv/w/a", "1").field("revision").(float64))
	a.put("/v2/kv/other", "x").status(200)
	a.put("/v2/kv/w/a", "2").status(200)

	t.Run("replays from a revision, then streams, in order", func(t *testing.T) {
		a := a.with(t)
		w := openWatch(t, fmt.Sprintf("%s/v2/watch?prefix=w/&from_revision=%d", c.URL(), start))
		ev := w.want("put", "w/a", 0)
		if ev.data["value"] != b64("1") || ev.id != fmt.Sprint(start) {
			t.Fatalf("first event %+v", ev)
		}
		w.want("put", "w/a", 1)
		a.do(http.MethodDelete, "/v2/kv/w/a", nil).status(200)
		if ev := w.want("delete", "w/a", 2); ev.data["deleted"] != true || ev.data["value"] != nil {
			t.Fatalf("delete event %v", ev.data)
		}
		a.post("/v2/fork", `{"from":"default","to":"f","key":"other"}`).status(200)
		a.put("/v2/kv/w/b", "3").status(200)
		w.want("put", "w/b", 0)
	})
	t.Run("progress events while idle", func(t *testing.T) {
		w := openWatch(t, c.URL()+"/v2/watch?key=idle")
		select {
		case ev := <-w.events:
			if ev.data["type"] != "progress" || ev.data["revision"] == nil {
				t.Fatalf("idle watch got %v, want a progress event", ev.data)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no progress event")
		}
	})
	t.Run("only new changes without from_revision; resume with Last-Event-ID", func(t *testing.T) {
		a := a.with(t)
		w := openWatch(t, c.URL()+"/v2/watch?key=live")
		// the watch has started once it sends progress; the first write after that is seen
		for ev := range w.events {
			if ev.data["type"] == "progress" {
				break
			}
		}
		a.put("/v2/kv/live", "L0").status(200)
		ev := w.want("put", "live", 0)
		w.close()
		a.put("/v2/kv/live", "L1").status(200)
		a.put("/v2/kv/live", "L2").status(200)
		w2 := openWatch(t, c.URL()+"/v2/watch?key=live", "Last-Event-ID: "+ev.id)
		w2.want("put", "live", 1)
		w2.want("put", "live", 2)
	})
	t.Run("fork and merge events in another fork", func(t *testing.T) {
		a := a.with(t)
		rev := int(a.put("/v2/kv/fm", "base").field("revision").(float64))
		w := openWatch(t, fmt.Sprintf("%s/v2/watch?key=fm&fork=side&from_revision=%d", c.URL(), rev))
		a.post("/v2/fork", `{"from":"default","to":"side","key":"fm"}`).status(200)
		w.want("fork", "fm", 0)
		a.put("/v2/kv/fm", "main2").status(200)
		a.post("/v2/merge", `{"from":"default","to":"side","key":"fm"}`).status(200)
		if ev := w.want("merge", "fm", 1); ev.data["value"] != b64("main2") {
			t.Fatalf("merge event %v", ev.data)
		}
	})
	t.Run("bad parameters", func(t *testing.T) {
		a := a.with(t)
		a.get("/v2/watch?key=a&prefix=b").errIs(400, "invalid_target")
		a.get("/v2/watch?from_revision=-3").errIs(400, "invalid_from_revision")
		a.get("/v2/watch", "Last-Event-ID: x").errIs(400, "invalid_last_event_id")
	})
}
