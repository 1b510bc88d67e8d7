package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/wire"
)

func TestAuth_RestrictedMode(t *testing.T) {
	cases := []struct {
		name           string
		serverAuth     string
		clientAuth     any
		wantRestricted bool
	}{
		{"open server, no auth", "", nil, false},
		{"open server, any auth", "", "", true},
		{"password, no auth", "pw", nil, true},
		{"password, right auth", "pw", "pw", false},
		{"password, wrong auth", "pw", "nope", true},
		{"password, non-string auth", "pw", int64(1), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, func(c *gateway.Config) { c.Auth = tc.serverAuth })
			extra := map[string]any{"receive_client_updates": true}
			if tc.clientAuth != nil {
				extra["auth"] = tc.clientAuth
			}
			c := dial(t, srv.Addr(), wire.JSON)
			ready := c.Identify("app", "c", extra)
			if got := ready["d"].(map[string]any)["restricted"]; got != tc.wantRestricted {
				t.Fatalf("restricted = %v, want %v", got, tc.wantRestricted)
			}
			if !tc.wantRestricted {
				return
			}
			// Restricted: no client updates, only UPDATE_METADATA, reachable only by
			// restricted queries, no ip.
			c.Send(map[string]any{"op": 4, "t": "UPDATE_METADATA", "d": meta("x", "integer", int64(1))})
			for _, typ := range []string{"SEND", "BROADCAST", "QUERY_NODES", "QUEUE"} {
				c.Send(map[string]any{"op": 4, "t": typ, "d": map[string]any{"target": nil, "payload": 1}})
				d := c.ExpectError(3, "invalid dispatch type "+typ+" (are you restricted?)")
				if _, ok := d["extra_info"]; ok {
					t.Errorf("restricted rejection has extra_info: %v", d)
				}
			}
			c.ExpectSilence("c")
			obs := connect(t, srv, wire.JSON, "obs", "o", map[string]any{"auth": serverPassword(tc.serverAuth)})
			if got := queryNodes(t, obs, map[string]any{"application": "app"}); len(got) != 0 {
				t.Errorf("unrestricted query matched a restricted client: %v", got)
			}
			q := map[string]any{"application": "app", "restricted": true, "ops": []any{
				cmp("/x", "$eq", int64(1)), cmp("/ip", "$eq", nil), cmp("/receive_client_updates", "$eq", false),
				cmp("/restricted", "$eq", true),
			}}
			if got := queryNodes(t, obs, q); len(got) != 1 {
				t.Errorf("restricted query: got %v, want [c]", got)
			}
		})
	}
}

// serverPassword is the auth a normal client sends to a server with password pw.
func serverPassword(pw string) any {
	if pw == "" {
		return nil
	}
	return pw
}

func TestAuth_RestrictedMayNotUseETF(t *testing.T) {
	srv := startServer(t, func(c *gateway.Config) { c.Auth = "pw" })
	c := dial(t, srv.Addr(), wire.ETF)
	c.Expect(0)
	c.Send(map[string]any{"op": 1, "d": map[string]any{"client_id": "c", "application_id": "a", "auth": "wrong"}})
	c.ExpectError(8, "restricted clients may not use ETF")
	c.ExpectClosed()
	connect(t, srv, wire.ETF, "a", "c", map[string]any{"auth": "pw"})
}

func TestBug_NoAuthRateLimit(t *testing.T) {
	srv := startServer(t, func(c *gateway.Config) {
		c.Auth, c.AuthFailures, c.AuthFailureWindow = "pw", 3, time.Hour
	})
	for i := range 3 {
		c := dial(t, srv.Addr(), wire.JSON)
		if got := c.Identify("a", fmt.Sprint("guess", i), map[string]any{"auth": "guess"})["d"].(map[string]any)["restricted"]; got != true {
			t.Fatalf("guess %d: restricted = %v, want true", i, got)
		}
	}
	// The limit is reached: even the right password is refused from this address.
	c := dial(t, srv.Addr(), wire.JSON)
	c.Expect(0)
	c.Send(map[string]any{"op": 1, "d": map[string]any{"client_id": "c", "application_id": "a", "auth": "pw"}})
	d := c.Expect(8)["d"].(map[string]any)
	if msg, _ := d["error"].(string); !strings.HasPrefix(msg, "auth: rate limited") {
		t.Errorf("got %v, want an auth rate limit error", d)
	}
	c.ExpectClosed()
	// A client that sends no password is not guessing and still gets in (restricted).
	dial(t, srv.Addr(), wire.JSON).Identify("a", "plain", nil)
	// HTTP shares the limit.
	req, _ := http.NewRequest(http.MethodPost, "http://"+srv.Addr()+"/api/v1/query", strings.NewReader("{}"))
	req.Header.Set("Authorization", "pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("got HTTP %d (Retry-After %q), want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestLimits_HeartbeatTookTooLong(t *testing.T) {
	srv := startServer(t, func(c *gateway.Config) { c.HeartbeatInterval = 40 * time.Millisecond })
	c := connect(t, srv, wire.JSON, "hb", "c", nil)
	// Keep sending non-heartbeat frames until the lazy check (1.5 x 40 ms) fires.
	deadline := time.Now().Add(waitFor)
	for {
		c.Send(map[string]any{"op": 4, "t": "UPDATE_METADATA", "d": meta("x", "integer", int64(1))})
		select {
		case m := <-c.Frames:
			if d := m["d"].(map[string]any); m["op"] != int64(8) || d["error"] != "heartbeat took too long" {
				t.Fatalf("got %v, want op 8 heartbeat took too long", m)
			}
			if code := c.ExpectClosed(); code != websocket.StatusNormalClosure {
				t.Errorf("close code %v, want 1000", code)
			}
			return
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no op 8 although heartbeats stopped")
		}
	}
}

func TestLimits_IdleTimeoutClosesWith1000(t *testing.T) {
	srv := startServer(t, func(c *gateway.Config) { c.IdleTimeout = 100 * time.Millisecond })
	c := dial(t, srv.Addr(), wire.JSON)
	c.Expect(0)
	if code := c.ExpectClosed(); code != websocket.StatusNormalClosure {
		t.Errorf("close code %v, want 1000 without op 8", code)
	}
}

func TestLimits_FrameTooLarge(t *testing.T) {
	srv := startServer(t, func(c *gateway.Config) { c.MaxFrameBytes = 1024 })
	c := connect(t, srv, wire.JSON, "big", "c", nil)
	c.Send(map[string]any{"op": 4, "t": "SEND", "d": map[string]any{"target": nil, "payload": strings.Repeat("x", 900)}})
	c.Expect(4) // 900 bytes of payload still fit
	c.Send(map[string]any{"op": 4, "t": "SEND", "d": map[string]any{"target": nil, "payload": strings.Repeat("x", 2000)}})
	c.ExpectError(8, "decode: payload: frame larger than 1024 bytes")
	if code := c.ExpectClosed(); code != websocket.StatusMessageTooBig {
		t.Errorf("close code %v, want 1009", code)
	}
}

func TestLimits_MaxConnections(t *testing.T) {
	srv := startServer(t, func(c *gateway.Config) { c.MaxConnections = 2 })
	a := dial(t, srv.Addr(), wire.JSON)
	dial(t, srv.Addr(), wire.JSON)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws://"+srv.Addr()+"/gateway/websocket", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection: got %v, %v; want HTTP 503", resp, err)
	}
	a.WS.CloseNow()
	eventually(t, func() bool {
		ws, _, err := websocket.Dial(ctx, "ws://"+srv.Addr()+"/gateway/websocket", nil)
		if err == nil {
			ws.CloseNow()
		}
		return err == nil
	})
}

func TestLimits_SlowConsumerIsClosed(t *testing.T) {
	srv := startServer(t, func(c *gateway.Config) {
		c.OutboundFrames = 8
		c.WriteTimeout = 200 * time.Millisecond
	})
	// A receiver that never reads.
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+srv.Addr()+"/gateway/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ident := []byte(`{"op":1,"d":{"client_id":"slow","application_id":"slow"}}`)
	if err := ws.Write(ctx, websocket.MessageText, ident); err != nil {
		t.Fatal(err)
	}
	s := connect(t, srv, wire.JSON, "sender", "s", nil)
	eventually(t, func() bool { return len(queryNodes(t, s, map[string]any{"application": "slow"})) == 1 })
	payload := strings.Repeat("x", 256<<10)
	eventually(t, func() bool {
		for range 20 {
			send(s, "SEND", map[string]any{"application": "slow", "droppable": true}, payload, nil)
		}
		return len(queryNodes(t, s, map[string]any{"application": "slow"})) == 0
	})
	s.ExpectSilence("s") // the sender is unaffected
}
