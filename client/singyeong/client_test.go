package singyeong_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/mahou-go/mahou/bus/gateway"
	singyeong "github.com/mahou-go/mahou/client/singyeong"
)

const waitFor = 5 * time.Second

// startServer runs a gateway in-process on addr (127.0.0.1:0 for a free port). The client
// package itself imports no server code; only its tests do, to have something to talk to.
func startServer(tb testing.TB, addr string, mutate func(*gateway.Config)) *gateway.Server {
	tb.Helper()
	cfg := gateway.DefaultConfig()
	cfg.Addr, cfg.DataDir = addr, tb.TempDir()
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := gateway.NewServer(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { closeServer(tb, srv) })
	return srv
}

func closeServer(tb testing.TB, srv *gateway.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		tb.Errorf("close server: %v", err)
	}
}

func dial(tb testing.TB, srv *gateway.Server, opts singyeong.Options) *singyeong.Client {
	tb.Helper()
	opts.URL = "http://" + srv.Addr()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := singyeong.Dial(ctx, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func next(tb testing.TB, c *singyeong.Client) singyeong.Frame {
	tb.Helper()
	select {
	case f, ok := <-c.Frames():
		if !ok {
			tb.Fatal("frames closed")
		}
		return f
	case <-time.After(waitFor):
		tb.Fatal("no frame")
	}
	return singyeong.Frame{}
}

func TestClient_SendBroadcastAcrossEncodings(t *testing.T) {
	srv := startServer(t, "127.0.0.1:0", nil)
	for _, enc := range []singyeong.Encoding{singyeong.JSON, singyeong.Msgpack} {
		t.Run(string(enc), func(t *testing.T) {
			recv := dial(t, srv, singyeong.Options{AppID: "recv-" + string(enc), Encoding: enc,
				Metadata: singyeong.Metadata{"ratio": {Type: "float", Value: 1.0}}})
			send := dial(t, srv, singyeong.Options{AppID: "send", Encoding: enc})
			ctx := context.Background()
			target := map[string]any{"application": "recv-" + string(enc),
				"ops": []any{map[string]any{"path": "/ratio", "op": "$eq", "to": map[string]any{"value": 1.0}}}}
			if err := send.Send(ctx, target, map[string]any{"i": 1, "f": 2.0}, "n"); err != nil {
				t.Fatal(err)
			}
			f := next(t, recv)
			d := f.D.(map[string]any)
			p := d["payload"].(map[string]any)
			if f.Op != singyeong.OpDispatch || f.T != "SEND" || d["nonce"] != "n" || p["i"] != int64(1) || p["f"] != 2.0 {
				t.Errorf("got %+v", f)
			}
			if err := send.Broadcast(ctx, map[string]any{"application": "nobody"}, "x", nil); err != nil {
				t.Fatal(err)
			}
			if err := send.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			var se *singyeong.ServerError
			if err := next(t, send).Err(); !errors.As(err, &se) || se.Message != "no_route" || se.Fatal {
				t.Errorf("got %v, want op 3 no_route", err)
			}
		})
	}
}

func TestClient_MetadataAndQueries(t *testing.T) {
	srv := startServer(t, "127.0.0.1:0", func(c *gateway.Config) { c.Auth = "pw" })
	c := dial(t, srv, singyeong.Options{AppID: "md", ClientID: "c1", Auth: "pw", Namespace: "prod"})
	ctx := context.Background()
	if c.Restricted() {
		t.Fatal("restricted with the right password")
	}
	if err := c.UpdateMetadata(ctx, singyeong.Metadata{"load": {Type: "integer", Value: 7}}); err != nil {
		t.Fatal(err)
	}
	q := map[string]any{"application": "md", "ops": []any{
		map[string]any{"path": "/load", "op": "$eq", "to": map[string]any{"value": 7}},
		map[string]any{"path": "/namespace", "op": "$eq", "to": map[string]any{"value": "prod"}},
	}}
	nodes, err := c.QueryNodes(ctx, q)
	if err != nil || len(nodes) != 1 || nodes[0].ClientID != "c1" || nodes[0].MetadataTypes["load"] != "integer" {
		t.Fatalf("QueryNodes: %v %+v", err, nodes)
	}
	nodes, err = singyeong.Query(ctx, nil, "http://"+srv.Addr(), "pw", q)
	if err != nil || len(nodes) != 1 || nodes[0].Metadata["load"] != int64(7) {
		t.Fatalf("Query: %v %+v", err, nodes)
	}
	var he *singyeong.HTTPError
	if _, err := singyeong.Query(ctx, nil, "http://"+srv.Addr(), "", q); !errors.As(err, &he) || he.Status != 401 {
		t.Errorf("Query without auth: got %v, want HTTP 401", err)
	}
	if err := c.UpdateMetadata(ctx, singyeong.Metadata{"ip": {Type: "string", Value: "x"}}); err != nil {
		t.Fatal(err)
	}
	c.Ping(ctx)
	if err := next(t, c).Err(); err == nil {
		t.Error("forbidden key accepted")
	}
	restricted := dial(t, srv, singyeong.Options{AppID: "md"})
	if !restricted.Restricted() {
		t.Error("no password, not restricted")
	}
}

func TestClient_ReconnectsAfterGoodbye(t *testing.T) {
	srv := startServer(t, "127.0.0.1:0", nil)
	addr := srv.Addr()
	c := dial(t, srv, singyeong.Options{AppID: "re", ClientID: "c", Reconnect: true,
		Metadata: singyeong.Metadata{"v": {Type: "integer", Value: 1}}})
	closeServer(t, srv)
	if f := next(t, c); f.Op != singyeong.OpGoodbye {
		t.Fatalf("got %+v, want goodbye", f)
	}
	srv2 := startServer(t, addr, nil)
	probe := dial(t, srv2, singyeong.Options{AppID: "probe"})
	deadline := time.Now().Add(waitFor)
	for {
		nodes, err := probe.QueryNodes(context.Background(), map[string]any{"application": "re",
			"ops": []any{map[string]any{"path": "/v", "op": "$eq", "to": map[string]any{"value": 1}}}})
		if err == nil && len(nodes) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("client did not come back with its metadata: %v %v", nodes, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWebsocketURL(t *testing.T) {
	cases := map[string]string{
		"http://h:1":      "ws://h:1/gateway/websocket?encoding=json",
		"https://h/base/": "wss://h/base/gateway/websocket?encoding=json",
		"ws://h:2":        "ws://h:2/gateway/websocket?encoding=json",
		"wss://h":         "wss://h/gateway/websocket?encoding=json",
	}
	for in, want := range cases {
		if got, err := singyeong.WebsocketURL(in, singyeong.JSON); err != nil || got != want {
			t.Errorf("%s: got %s %v, want %s", in, got, err, want)
		}
	}
	if _, err := singyeong.WebsocketURL("ftp://h", singyeong.JSON); err == nil {
		t.Error("ftp accepted")
	}
}
