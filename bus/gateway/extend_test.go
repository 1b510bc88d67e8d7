package gateway_test

import (
	"errors"
	"io"
	"net/http"
	"reflect"
	"sync"
	"testing"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/query"
	"github.com/mahou-go/mahou/bus/wire"
)

func TestServer_HandleAndOnPresence(t *testing.T) {
	cfg := gateway.DefaultConfig()
	cfg.Addr, cfg.DataDir = "127.0.0.1:0", t.TempDir()
	srv, err := gateway.NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// An extension event: echo d back, or route it as the queues will.
	err = srv.Handle("ECHO", func(s gateway.Session, d any) {
		if d == "bad" {
			s.Invalid("echo refused", d)
			return
		}
		n := len(query.Route(srv.Finder(), &bus.Query{AppFilter: bus.AppExact, Application: s.Key().App}, query.All))
		s.Reply("ECHO", map[string]any{"d": d, "from": s.Key().ID, "peers": int64(n)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Handle("SEND", nil); !errors.Is(err, gateway.ErrBuiltinEvent) {
		t.Errorf("replacing SEND: got %v, want ErrBuiltinEvent", err)
	}
	var mu sync.Mutex
	var events []string
	srv.OnPresence(func(k bus.ClientKey, connected bool) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, k.ID+map[bool]string{true: "+", false: "-"}[connected])
	})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(t.Context()) })
	if err := srv.Handle("LATE", nil); !errors.Is(err, gateway.ErrServerState) {
		t.Errorf("Handle after Start: got %v, want ErrServerState", err)
	}

	c := connect(t, srv, wire.Msgpack, "ext", "c1", nil)
	c.Send(map[string]any{"op": 4, "t": "ECHO", "d": "hi"})
	m := c.Expect(4)
	if d := m["d"].(map[string]any); m["t"] != "ECHO" || d["d"] != "hi" || d["from"] != "c1" || d["peers"] != int64(1) {
		t.Errorf("got %v", m)
	}
	c.Send(map[string]any{"op": 4, "t": "ECHO", "d": "bad"})
	c.ExpectError(3, "echo refused")
	c.Send(map[string]any{"op": 9})
	c.ExpectError(8, "invalid client op nil")
	c.ExpectClosed()
	eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) == 2 && events[0] == "c1+" && events[1] == "c1-"
	})
}

func TestServer_ErrorInfoAndUpdateQueues(t *testing.T) {
	cfg := gateway.DefaultConfig()
	cfg.Addr, cfg.DataDir = "127.0.0.1:0", t.TempDir()
	srv, err := gateway.NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	later := make(chan func(), 1)
	srv.Handle("LATER", func(s gateway.Session, d any) {
		info := s.ErrorInfo("later: refused")
		key := s.Key()
		// Reply and Invalid from another goroutine, after the handler returned.
		later <- func() {
			if err := srv.UpdateQueues(key, func(q []string) []string { return append(q, "jobs") }); err != nil {
				t.Errorf("UpdateQueues: %v", err)
			}
			s.Invalid("later refused", info)
			s.Reply("LATER_DONE", map[string]any{"ok": true})
		}
	})
	var updates []string
	var mu sync.Mutex
	srv.OnMetadata(func(k bus.ClientKey) {
		mu.Lock()
		defer mu.Unlock()
		updates = append(updates, k.ID)
	})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(t.Context()) })
	if err := srv.UpdateQueues(bus.ClientKey{App: "x", ID: "y"}, nil); !errors.Is(err, bus.ErrUnknownClient) {
		t.Errorf("UpdateQueues of an unknown client: got %v, want ErrUnknownClient", err)
	}
	c := connect(t, srv, wire.JSON, "ext", "c1", nil)
	c.Send(map[string]any{"op": 4, "t": "LATER", "d": map[string]any{"n": int64(1)}, "ts": int64(42)})
	go (<-later)()
	d := c.ExpectError(3, "later refused")
	want := map[string]any{"op": "dispatch", "t": "LATER", "d": map[string]any{"n": int64(1)}, "ts": int64(42), "reason": "later: refused"}
	if !reflect.DeepEqual(d["extra_info"], want) {
		t.Errorf("extra_info: got %v, want %v", d["extra_info"], want)
	}
	if m := c.Expect(4); m["t"] != "LATER_DONE" {
		t.Errorf("got %v, want LATER_DONE", m)
	}
	if ids := queryNodes(t, c, map[string]any{"application": "ext"}); len(ids) != 1 {
		t.Fatalf("got %v", ids)
	}
	got := srv.Finder().Find(&bus.Query{AppFilter: bus.AppExact, Application: "ext"})
	if len(got) != 1 || !reflect.DeepEqual(got[0].Client.Queues, []string{"jobs"}) {
		t.Errorf("queues after UpdateQueues: got %v, want [jobs]", got)
	}
	c.Send(map[string]any{"op": 4, "t": "UPDATE_METADATA", "d": meta("load", "integer", int64(3))})
	c.Send(map[string]any{"op": 4, "t": "UPDATE_METADATA", "d": meta("load", "string", int64(3))}) // refused: no hook
	c.ExpectError(3, "invalid metadata")
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(updates, []string{"c1"}) {
		t.Errorf("metadata hooks: got %v, want [c1]", updates)
	}
}

func TestServer_HandleHTTP(t *testing.T) {
	cfg := gateway.DefaultConfig()
	cfg.Addr, cfg.DataDir, cfg.Auth = "127.0.0.1:0", t.TempDir(), "pw"
	srv, err := gateway.NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, r.PathValue("name"))
	})
	for _, p := range []string{"GET /api/v1/things/{name}", "GET /open/{name}"} {
		if err := srv.HandleHTTP(p, echo); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []string{"/no/method", "GET /api/v1/things/{name}", "GET /x/{"} {
		if err := srv.HandleHTTP(bad, echo); !errors.Is(err, gateway.ErrConfig) {
			t.Errorf("HandleHTTP(%q): got %v, want ErrConfig", bad, err)
		}
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(t.Context()) })
	if err := srv.HandleHTTP("GET /late", echo); !errors.Is(err, gateway.ErrServerState) {
		t.Errorf("HandleHTTP after Start: got %v, want ErrServerState", err)
	}
	base := "http://" + srv.Addr()
	cases := []struct {
		method, path, auth, accept string
		status                     int
		body                       string
	}{
		{"GET", "/api/v1/things/a%2Fb", "pw", "", http.StatusTeapot, "a/b"},
		{"GET", "/api/v1/things/x", "", "", http.StatusUnauthorized, `{"error":"not authorized","status":"error"}`},
		{"GET", "/api/v1/things/x", "pw", "text/html", http.StatusNotAcceptable, `{"errors":{"detail":"Not Acceptable"}}`},
		{"POST", "/api/v1/things/x", "pw", "", http.StatusNotFound, `{"code":404,"error":"not found"}`},
		{"GET", "/api/v1/other", "pw", "", http.StatusNotFound, `{"code":404,"error":"not found"}`},
		{"GET", "/open/y", "", "", http.StatusTeapot, "y"},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || string(b) != tc.body {
			t.Errorf("%s %s: got %d %s, want %d %s", tc.method, tc.path, resp.StatusCode, b, tc.status, tc.body)
		}
	}
}
