package gateway_test

import (
	"errors"
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
	c.send(map[string]any{"op": 4, "t": "ECHO", "d": "hi"})
	m := c.expect(4)
	if d := m["d"].(map[string]any); m["t"] != "ECHO" || d["d"] != "hi" || d["from"] != "c1" || d["peers"] != int64(1) {
		t.Errorf("got %v", m)
	}
	c.send(map[string]any{"op": 4, "t": "ECHO", "d": "bad"})
	c.expectError(3, "echo refused")
	c.send(map[string]any{"op": 9})
	c.expectError(8, "invalid client op nil")
	c.expectClosed()
	eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) == 2 && events[0] == "c1+" && events[1] == "c1-"
	})
}
