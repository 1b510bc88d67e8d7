package queueapi_test

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/queue"
	"github.com/mahou-go/mahou/bus/queue/boltstore"
	"github.com/mahou-go/mahou/bus/queue/queueapi"
	"github.com/mahou-go/mahou/bus/wire"
)

func TestREST_QueuesAndDeadLetters(t *testing.T) {
	s := start(t, func(g *gateway.Config, q *queue.Config) { g.Auth = "pw"; q.MaxDeliveries = 1 })
	c := s.connect(t, wire.JSON, "w", "c", map[string]any{"auth": "pw"})
	var dead []any
	for i := range 3 {
		enqueue(c, "jobs", app("w"), int64(i), "n")
		confirm(t, c, "jobs")
		dispatch(c, "QUEUE_REQUEST", map[string]any{"queue": "jobs"})
		p, _ := received(t, c)
		dispatch(c, "QUEUE_NACK", map[string]any{"queue": "jobs", "id": p["id"]})
		dead = append(dead, p["id"])
	}
	enqueue(c, "jobs", app("nobody"), "waits", nil)
	confirm(t, c, "jobs")
	dispatch(c, "QUEUE_REQUEST", map[string]any{"queue": "idle"})
	c.ExpectSilence("c")

	if status, _ := s.call(t, "GET", "/api/v1/queues", "", ""); status != http.StatusUnauthorized {
		t.Errorf("no password: got %d, want 401", status)
	}
	status, body := s.call(t, "GET", "/api/v1/queues", "pw", "")
	jobs := map[string]any{"queue": "jobs", "depth": int64(1), "ready": int64(1), "delayed": int64(0), "in_flight": int64(0),
		"dead_lettered": int64(3), "waiting_consumers": int64(0)}
	idle := map[string]any{"queue": "idle", "depth": int64(0), "ready": int64(0), "delayed": int64(0), "in_flight": int64(0),
		"dead_lettered": int64(0), "waiting_consumers": int64(1), "bytes": int64(0)}
	list, _ := body.(map[string]any)["queues"].([]any)
	if status != 200 || len(list) != 2 || !reflect.DeepEqual(list[0], idle) {
		t.Fatalf("list: %d %v", status, body)
	}
	got := list[1].(map[string]any)
	if got["bytes"].(int64) <= 0 {
		t.Errorf("jobs bytes: %v", got["bytes"])
	}
	delete(got, "bytes")
	if !reflect.DeepEqual(got, jobs) {
		t.Errorf("jobs: got %v, want %v", got, jobs)
	}
	if status, body := s.call(t, "GET", "/api/v1/queues/jobs", "pw", ""); status != 200 || body.(map[string]any)["dead_lettered"] != int64(3) {
		t.Errorf("one: %d %v", status, body)
	}

	status, body = s.call(t, "GET", "/api/v1/queues/jobs/dlq?limit=2", "pw", "")
	page := body.(map[string]any)
	items := page["dead_letters"].([]any)
	if status != 200 || len(items) != 2 || page["next"] == nil {
		t.Fatalf("dlq page 1: %d %v", status, body)
	}
	first := items[0].(map[string]any)
	if first["id"] != dead[0] || first["payload"] != int64(0) || first["nonce"] != "n" || first["deliveries"] != int64(1) ||
		first["reason"] != "max_deliveries" || !reflect.DeepEqual(first["target"], app("w")) || first["dead_at"].(int64) == 0 {
		t.Errorf("dead letter: %v", first)
	}
	status, body = s.call(t, "GET", "/api/v1/queues/jobs/dlq?limit=2&after="+page["next"].(string), "pw", "")
	if items := body.(map[string]any)["dead_letters"].([]any); status != 200 || len(items) != 1 || body.(map[string]any)["next"] != nil {
		t.Fatalf("dlq page 2: %d %v", status, body)
	}

	status, body = s.call(t, "POST", "/api/v1/queues/jobs/dlq/purge", "pw", `{"ids":["`+dead[0].(string)+`"]}`)
	if status != 200 || body.(map[string]any)["purged"] != int64(1) {
		t.Errorf("purge one dead letter: %d %v", status, body)
	}
	status, body = s.call(t, "POST", "/api/v1/queues/jobs/dlq/requeue", "pw", `{"ids":[]}`)
	if status != 200 || body.(map[string]any)["requeued"] != int64(0) {
		t.Errorf("requeue none: %d %v", status, body)
	}
	status, body = s.call(t, "POST", "/api/v1/queues/jobs/dlq/requeue", "pw", `{"ids":null}`)
	if status != 200 || body.(map[string]any)["requeued"] != int64(2) {
		t.Errorf("requeue all: %d %v", status, body)
	}
	status, body = s.call(t, "POST", "/api/v1/queues/jobs/purge", "pw", "")
	if status != 200 || body.(map[string]any)["purged"] != int64(3) {
		t.Errorf("purge: %d %v", status, body)
	}
	if st, _ := s.broker.QueueStats("jobs"); st.Depth() != 0 || st.Dead != 0 {
		t.Errorf("after purges: %+v", st)
	}
}

func TestREST_Errors(t *testing.T) {
	s := start(t, func(g *gateway.Config, _ *queue.Config) { g.MaxBodyBytes = 64 })
	c := s.connect(t, wire.JSON, "w", "c", nil)
	enqueue(c, "q", nil, 1, nil)
	confirm(t, c, "q")
	cases := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "/api/v1/queues/nope", "", 404, "queue_not_found"},
		{"GET", "/api/v1/queues/nope/dlq", "", 404, "queue_not_found"},
		{"POST", "/api/v1/queues/nope/purge", "", 404, "queue_not_found"},
		{"POST", "/api/v1/queues/nope/dlq/requeue", "", 404, "queue_not_found"},
		{"GET", "/api/v1/queues/q/dlq?limit=0", "", 400, "invalid_request"},
		{"GET", "/api/v1/queues/q/dlq?limit=x", "", 400, "invalid_request"},
		{"GET", "/api/v1/queues/q/dlq?after=-1", "", 400, "invalid_request"},
		{"POST", "/api/v1/queues/q/dlq/purge", "{", 400, "invalid_json"},
		{"POST", "/api/v1/queues/q/dlq/purge", `[]`, 400, "invalid_request"},
		{"POST", "/api/v1/queues/q/dlq/purge", `{"ids":"x"}`, 400, "invalid_request"},
		{"POST", "/api/v1/queues/q/dlq/purge", `{"ids":[1]}`, 400, "invalid_request"},
		{"POST", "/api/v1/queues/q/dlq/requeue", `{"ids":["` + strings.Repeat("x", 70) + `"]}`, 413, "body_too_large"},
	}
	for _, tc := range cases {
		status, body := s.call(t, tc.method, tc.path, "", tc.body)
		m, _ := body.(map[string]any)
		if msg, _ := m["message"].(string); status != tc.status || m["error"] != tc.code || msg == "" {
			t.Errorf("%s %s %s: got %d %v, want %d %s", tc.method, tc.path, tc.body, status, body, tc.status, tc.code)
		}
	}
	if status, body := s.call(t, "DELETE", "/api/v1/queues/q", "", ""); status != 404 || !reflect.DeepEqual(body, map[string]any{"code": int64(404), "error": "not found"}) {
		t.Errorf("unknown method: %d %v", status, body)
	}
}

func TestREST_Metrics(t *testing.T) {
	s := start(t, nil)
	c := s.connect(t, wire.JSON, "w", "c", nil)
	enqueue(c, "q", app("nobody"), 1, nil)
	confirm(t, c, "q")
	resp, err := http.Get("http://" + s.srv.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`singyeong_queue_events_total{event="enqueued"} 1`, `singyeong_queue_messages{state="ready"} 1`,
		"singyeong_queue_commit_seconds_count 1"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestParseIDs(t *testing.T) {
	for body, want := range map[string][]string{"": nil, "{}": nil, `{"ids":null}`: nil, `{"ids":["a","b"]}`: {"a", "b"}, `{"ids":[]}`: {}} {
		if got, err := queueapi.ParseIDs([]byte(body), 0); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %#v %v, want %#v", body, got, err, want)
		}
	}
}

func FuzzParseIDs(f *testing.F) {
	for _, s := range []string{"", `{"ids":["a"]}`, `{"ids":null}`, `{"ids":[1]}`, `[]`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ids, err := queueapi.ParseIDs(body, 32)
		if err != nil {
			if !errors.Is(err, bus.ErrInvalidQueue) && !errors.Is(err, queueapi.ErrInvalidJSON) {
				t.Fatalf("%q: unexpected error %v", body, err)
			}
			return
		}
		for _, id := range ids {
			if id == "" || len(id) > queue.MaxIDBytes {
				t.Fatalf("%q: accepted id %q", body, id)
			}
		}
	})
}

func TestREST_Backup(t *testing.T) {
	s := start(t, nil)
	c := s.connect(t, wire.JSON, "w", "c", nil)
	for i := range 50 {
		enqueue(c, "q", app("nobody"), int64(i), nil)
		confirm(t, c, "q")
	}
	resp, err := http.Get("http://" + s.srv.Addr() + "/api/v1/backup/queues")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || int64(len(b)) != resp.ContentLength || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("got %d, %d bytes of %d, %v", resp.StatusCode, len(b), resp.ContentLength, err)
	}
	path := filepath.Join(t.TempDir(), "queues.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	store := boltstore.New(path)
	if err := store.Open(); err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Check(); err != nil {
		t.Fatal(err)
	}
	n := 0
	store.Load(func(string) error { return nil }, func(string, queue.Record, []byte) error { n++; return nil })
	if n != 50 {
		t.Errorf("the backup holds %d messages, want 50", n)
	}
}
