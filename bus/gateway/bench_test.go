package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"

	"github.com/mahou-go/mahou/bus/wire"
)

// BenchmarkServer_Send measures routed SENDs end to end through the server: one sender,
// receivers that count what they read, a 256 B payload.
func BenchmarkServer_Send(b *testing.B) {
	for _, enc := range []wire.Encoding{wire.JSON, wire.Msgpack} {
		b.Run(string(enc), func(b *testing.B) {
			srv := startServer(b, nil)
			var got atomic.Int64
			for i := range 100 {
				ws := dialRaw(b, srv.Addr(), string(enc))
				ident, _ := wire.Encode(enc, map[string]any{"op": int64(1), "d": map[string]any{
					"client_id": fmt.Sprint("r", i), "application_id": "bench"}})
				typ := websocket.MessageBinary
				if enc == wire.JSON {
					typ = websocket.MessageText
				}
				if err := ws.Write(context.Background(), typ, ident); err != nil {
					b.Fatal(err)
				}
				go func() {
					for n := 0; ; n++ {
						if _, _, err := ws.Read(context.Background()); err != nil {
							return
						}
						if n >= 2 { // after hello and ready
							got.Add(1)
						}
					}
				}()
			}
			s := connect(b, srv, enc, "sender", "s", nil)
			frame, _ := wire.Encode(enc, map[string]any{"op": int64(4), "t": "SEND", "d": map[string]any{
				"target": map[string]any{"application": "bench"}, "nonce": nil,
				"payload": map[string]any{"pad": strings.Repeat("x", 256)}}})
			eventually(b, func() bool { return len(queryNodes(b, s, map[string]any{"application": "bench"})) == 100 })
			b.ResetTimer()
			for i := range b.N {
				s.SendBytes(s.FrameType(), frame)
				if i%256 == 0 {
					for int64(i)-got.Load() > 1024 {
						s.ExpectSilence("s")
					}
				}
			}
			eventually(b, func() bool { return got.Load() >= int64(b.N) })
		})
	}
}
