package cluster

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/mahou-go/mahou/bus"
)

// linkProto names the link's peer protocol; its version is in the name, so nodes of an
// incompatible version refuse each other at the upgrade.
const linkProto = "link.v1"

// A link carries frames in one direction, from the node that dialed to the node it dialed:
// a 4-byte big-endian length (of what follows), a type byte, then the frame's fields.
//
//	upsert   since (varint, ms), client record        a client of the sender, new or changed
//	remove   client key                               a client of the sender is gone
//	synced   nothing                                  every client of the sender was sent
//	deliver  client key, delivery                     a dispatch for a client of the receiver
//	message  kind byte, payload                       for a handler (Cluster.Handle)
//
// A client key is two strings (application, id). A client record is the key, the socket IP,
// restricted, the queues (count, strings), then the metadata entries sorted by key: key, type
// and value (see value.go). A delivery is the event, the time (varint, ms), the nonce and the
// payload.
type frameType byte

const (
	frameUpsert frameType = iota + 1
	frameRemove
	frameSynced
	frameDeliver
	frameMessage
)

// maxFrameBytes bounds one frame; a larger one is a corrupt stream.
const maxFrameBytes = 64 << 20

// frame is a decoded frame.
type frame struct {
	typ      frameType
	client   *bus.Client   // upsert
	since    int64         // upsert
	key      bus.ClientKey // remove, deliver
	delivery *bus.Delivery // deliver
	kind     byte          // message
	payload  []byte        // message
}

// begin starts a frame of type t: room for the length, then the type.
func begin(t frameType, capacity int) []byte {
	b := make([]byte, 5, 5+capacity)
	b[4] = byte(t)
	return b
}

// finish writes the length of a frame begun with begin, when extra bytes (a shared delivery)
// follow it on the wire.
func finish(b []byte, extra int) []byte {
	binary.BigEndian.PutUint32(b, uint32(len(b)-4+extra))
	return b
}

func appendKey(b []byte, k bus.ClientKey) []byte { return appendString(appendString(b, k.App), k.ID) }

func encodeUpsert(c *bus.Client, since int64) ([]byte, error) {
	b := binary.AppendVarint(begin(frameUpsert, 256), since)
	b = appendString(appendKey(b, c.Key), c.SocketIP)
	restricted := byte(0)
	if c.Restricted {
		restricted = 1
	}
	b = binary.AppendUvarint(append(b, restricted), uint64(len(c.Queues)))
	for _, q := range c.Queues {
		b = appendString(b, q)
	}
	keys := make([]string, 0, len(c.Metadata))
	for k := range c.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(appendString(b, k), string(c.Types[k]))
		var err error
		if b, err = appendValue(b, c.Metadata[k]); err != nil {
			return nil, fmt.Errorf("encode client %s/%s: %w", c.Key.App, c.Key.ID, err)
		}
	}
	return finish(b, 0), nil
}

func encodeRemove(k bus.ClientKey) []byte { return finish(appendKey(begin(frameRemove, 64), k), 0) }

func encodeSynced() []byte { return finish(begin(frameSynced, 0), 0) }

// encodeDelivery encodes the delivery part of a deliver frame; one encoding serves every
// recipient of a broadcast on the same node.
func encodeDelivery(d *bus.Delivery) ([]byte, error) {
	b := binary.AppendVarint(appendString(make([]byte, 0, 128), d.Event), d.At)
	b, err := appendValue(b, d.Nonce)
	if err == nil {
		b, err = appendValue(b, d.Payload)
	}
	if err != nil {
		return nil, fmt.Errorf("encode delivery: %w", err)
	}
	return b, nil
}

// deliverHeader is a deliver frame up to its delivery part, which follows it on the wire.
func deliverHeader(k bus.ClientKey, delivery int) []byte {
	return finish(appendKey(begin(frameDeliver, 64), k), delivery)
}

func encodeMessage(kind byte, payload []byte) []byte {
	b := append(begin(frameMessage, 1+len(payload)), kind)
	return finish(append(b, payload...), 0)
}

// decodeFrame decodes one frame after its length: the type byte and the fields.
func decodeFrame(body []byte) (frame, error) {
	r := newReader(body)
	f := frame{typ: frameType(r.byte())}
	switch f.typ {
	case frameUpsert:
		f.since = r.varint()
		f.client = readClient(r)
	case frameRemove:
		f.key = readKey(r)
	case frameSynced:
	case frameDeliver:
		f.key = readKey(r)
		f.delivery = &bus.Delivery{Event: r.string(), At: r.varint()}
		f.delivery.Nonce = r.value(0)
		f.delivery.Payload = r.value(0)
	case frameMessage:
		f.kind = r.byte()
		f.payload = r.b
		r.b = nil
	default:
		r.fail("frame type")
	}
	if err := r.end("frame"); err != nil {
		return frame{}, err
	}
	return f, nil
}

func readKey(r *reader) bus.ClientKey { return bus.ClientKey{App: r.string(), ID: r.string()} }

func readClient(r *reader) *bus.Client {
	c := &bus.Client{Key: readKey(r), SocketIP: r.string()}
	switch r.byte() {
	case 0:
	case 1:
		c.Restricted = true
	default:
		r.fail("restricted")
	}
	if n := r.count(); n > 0 {
		c.Queues = make([]string, n)
		for i := range c.Queues {
			c.Queues[i] = r.string()
		}
	}
	n := r.count()
	c.Metadata, c.Types = make(map[string]any, n), make(map[string]bus.Type, n)
	for range n {
		k := r.string()
		c.Types[k] = bus.Type(r.string())
		c.Metadata[k] = r.value(0)
	}
	return c
}
