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

// allowedFatal are the op 8 texts an identified client can cause with one frame; anything else
// (internal server error above all) is a bug.
var allowedFatal = []string{
	"invalid client op ", "decode: payload: unrecoverable", "already registered for app fuzz",
	"unexpected byte at position ", "unexpected end of input at position ", "nesting deeper than ",
	"number out of range: ",
}

// FuzzProtocol sends one arbitrary JSON text frame from an identified client and checks the
// server's answer: an op 3, nothing, or one of the documented op 8 texts; never a panic, and
// after an op 3 the connection still answers a heartbeat.
func FuzzProtocol(f *testing.F) {
	for _, s := range []string{
		`{"op":4,"t":"SEND","d":{"target":{"application":"fuzz","ops":[{"path":"/a","op":"$in","to":{"value":[1]}}],"selector":{"$avg":"a"}},"payload":1}}`,
		`{"op":4,"t":"BROADCAST","d":{"target":{"ops":[{"op":"$nor","with":[]}],"optional":true,"key":"k"},"nonce":[1]}}`,
		`{"op":4,"t":"UPDATE_METADATA","d":{"a":{"type":"list","value":[1,{"b":2}]}}}`,
		`{"op":4,"t":"QUERY_NODES","d":{"application":"fuzz","ops":[{"a":{"$and":[{"$gt":1}]}}]}}`,
		`{"op":4,"t":"QUEUE","d":{"queue":"q"}}`, `{"op":5}`, `{"op":2}`, `[]`, `{"op":1.5}`,
	} {
		f.Add(s)
	}
	srv := startServer(f, nil)
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, frame string) {
		c := dial(t, srv.Addr(), wire.JSON)
		// A fresh id each time: the previous connection may still be deregistering.
		c.Identify("fuzz", fmt.Sprint("c", n.Add(1)), nil)
		c.SendBytes(websocket.MessageText, []byte(frame))
		// The frame may have closed the connection (op 8): the heartbeat may then fail.
		_ = c.WS.Write(context.Background(), websocket.MessageText, []byte(`{"op":5}`))
		for {
			m := c.Next()
			switch m["op"] {
			case int64(6):
				c.WS.CloseNow()
				<-c.Closed
				return
			case int64(8):
				msg, _ := m["d"].(map[string]any)["error"].(string)
				for _, ok := range allowedFatal {
					if strings.HasPrefix(msg, ok) || strings.HasSuffix(msg, ok) {
						c.ExpectClosed()
						return
					}
				}
				t.Fatalf("frame %q: unexpected op 8 %q", frame, msg)
			}
		}
	})
}
