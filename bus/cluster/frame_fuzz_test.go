package cluster

import (
	"bytes"
	"testing"

	"github.com/mahou-go/mahou/bus"
)

// FuzzDecodeFrame feeds the link frame decoder arbitrary bytes: it must return a frame or an
// error, never panic, and an upsert it accepts must survive encode, decode, encode unchanged.
// Internal: the frame format is not exported.
func FuzzDecodeFrame(f *testing.F) {
	c := &bus.Client{Key: bus.ClientKey{App: "worker", ID: "w1"}, SocketIP: "10.0.0.1", Queues: []string{"jobs"},
		Metadata: map[string]any{"load": int64(5), "tags": []any{"a", 1.5, nil, true}, "m": map[string]any{"k": "v"}},
		Types:    map[string]bus.Type{"load": bus.TypeInteger, "tags": bus.TypeList, "m": bus.TypeMap}}
	up, err := encodeUpsert(c, 1234)
	if err != nil {
		f.Fatal(err)
	}
	d, err := encodeDelivery(&bus.Delivery{Event: "SEND", At: 99, Nonce: "n", Payload: map[string]any{"x": []any{int64(1)}}})
	if err != nil {
		f.Fatal(err)
	}
	deliver := append(deliverHeader(c.Key, len(d)), d...)
	for _, seed := range [][]byte{up, encodeRemove(c.Key), encodeSynced(), deliver, encodeMessage(1, []byte("payload"))} {
		f.Add(seed[4:])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fr, err := decodeFrame(body)
		if err != nil || fr.typ != frameUpsert {
			return
		}
		again, err := encodeUpsert(fr.client, fr.since)
		if err != nil {
			t.Fatalf("decoded upsert does not encode: %v", err)
		}
		fr2, err := decodeFrame(again[4:])
		if err != nil {
			t.Fatalf("re-encoded upsert does not decode: %v", err)
		}
		if third, _ := encodeUpsert(fr2.client, fr2.since); !bytes.Equal(third, again) {
			t.Fatalf("upsert round trip: got %x, want %x", third, again)
		}
	})
}
