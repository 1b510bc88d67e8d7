package gateway_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/mahou-go/mahou/bus/etf"
)

func TestETF_AtomKeyedStructsAndStringKeyedMaps(t *testing.T) {
	srv := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws := dialRaw(t, srv.Addr(), "etf")
	_, hello, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	atom := func(name string) []byte { return append([]byte{119, byte(len(name))}, name...) }
	binKey := func(name string) []byte { return append([]byte{109, 0, 0, 0, byte(len(name))}, name...) }
	// Envelope: atom keys; hello's d: a plain map with a binary key; t: the atom nil.
	for _, want := range [][]byte{atom("op"), atom("d"), atom("ts"), append(atom("t"), atom("nil")...), binKey("heartbeat_interval")} {
		if !bytes.Contains(hello, want) {
			t.Errorf("hello %x lacks %x", hello, want)
		}
	}
	if hello[0] != 131 {
		t.Errorf("hello starts with %d, want the version byte 131", hello[0])
	}
	ident, _ := etf.Encode(etf.Struct{{Key: "op", Value: 1}, {Key: "d", Value: map[string]any{"client_id": "c", "application_id": "etf"}}})
	write(t, ws, ident)
	_, ready, _ := ws.Read(ctx)
	if !bytes.Contains(ready, binKey("restricted")) || !bytes.Contains(ready, atom("false")) {
		t.Errorf("ready %x: want binary key restricted and atom false", ready)
	}
	send, _ := etf.Encode(map[string]any{"op": int64(4), "t": "SEND", "d": map[string]any{
		"target": map[string]any{"application": "etf"}, "payload": map[string]any{"k": 1.5}, "nonce": nil}})
	write(t, ws, send)
	_, got, _ := ws.Read(ctx)
	// Dispatch struct: atom keys target/nonce/payload; the user payload keeps binary keys.
	for _, want := range [][]byte{atom("target"), atom("nonce"), atom("payload"), binKey("k"), {109, 0, 0, 0, 4, 'S', 'E', 'N', 'D'}} {
		if !bytes.Contains(got, want) {
			t.Errorf("dispatch %x lacks %x", got, want)
		}
	}
	noRoute, _ := etf.Encode(map[string]any{"op": int64(4), "t": "SEND", "d": map[string]any{
		"target": map[string]any{"application": "nobody"}, "payload": nil}})
	write(t, ws, noRoute)
	_, got, _ = ws.Read(ctx)
	// The error struct: atom keys error/extra_info, and the error itself the atom no_route.
	for _, want := range [][]byte{atom("error"), atom("extra_info"), append(atom("error"), atom("no_route")...)} {
		if !bytes.Contains(got, want) {
			t.Errorf("no_route %x lacks %x", got, want)
		}
	}
}
