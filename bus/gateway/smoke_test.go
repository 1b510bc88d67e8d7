package gateway_test

import (
	"testing"

	"github.com/mahou-go/mahou/bus/wire"
)

func TestServer_SendAcrossEncodings(t *testing.T) {
	srv := startServer(t, nil)
	encs := []wire.Encoding{wire.JSON, wire.Msgpack, wire.ETF}
	for _, from := range encs {
		for _, to := range encs {
			t.Run(string(from)+"->"+string(to), func(t *testing.T) {
				recv := connect(t, srv, to, "recv-"+string(from)+string(to), "r", nil)
				send := connect(t, srv, from, "send", "s-"+string(from)+string(to), nil)
				send.Send(map[string]any{"op": 4, "t": "SEND", "d": map[string]any{
					"target": map[string]any{"application": "recv-" + string(from) + string(to)},
					"nonce":  "n1", "payload": map[string]any{"i": int64(1), "f": 1.5},
				}})
				m := recv.Expect(4)
				if m["t"] != "SEND" {
					t.Fatalf("got t %v, want SEND", m["t"])
				}
				d := m["d"].(map[string]any)
				if d["nonce"] != "n1" || d["target"] != nil {
					t.Errorf("got d %v", d)
				}
				p := d["payload"].(map[string]any)
				if p["i"] != int64(1) || p["f"] != 1.5 {
					t.Errorf("got payload %#v, want i=1 (integer), f=1.5", p)
				}
			})
		}
	}
}
