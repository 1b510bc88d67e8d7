package queue

import (
	"fmt"

	"github.com/mahou-go/mahou/bus/wire"
)

// bodyVersion is the first byte of every encoded body.
const bodyVersion = 1

// maxBodyDepth bounds the nesting DecodeBody accepts. What a body holds came through a frame
// decoder with its own, smaller, limit; this one only guards against corrupt bytes.
const maxBodyDepth = 4096

// EncodeBody encodes what a message carries, once, when it is enqueued: a version byte, the
// target query and the nonce as length-prefixed msgpack, then the payload as msgpack. The
// target comes first so that the bytes of a target (TargetBytes) name the message's routing
// group without decoding anything. msgpack keeps integers and floats apart and writes map keys
// sorted, so equal targets have equal bytes.
func EncodeBody(target, nonce, payload any) ([]byte, error) {
	t, err := wire.Encode(wire.Msgpack, target)
	if err != nil {
		return nil, fmt.Errorf("encode target: %w", err)
	}
	n, err := wire.Encode(wire.Msgpack, nonce)
	if err != nil {
		return nil, fmt.Errorf("encode nonce: %w", err)
	}
	p, err := wire.Encode(wire.Msgpack, payload)
	if err != nil {
		return nil, fmt.Errorf("encode payload: %w", err)
	}
	e := encoder{b: make([]byte, 0, 1+len(t)+len(n)+len(p)+6)}
	e.byte(bodyVersion)
	e.bytes(t)
	e.bytes(n)
	e.b = append(e.b, p...)
	return e.b, nil
}

// splitBody returns the encoded target, nonce and payload of a body.
func splitBody(b []byte) (target, nonce, payload []byte, err error) {
	d := decoder{b: b}
	if v := d.byte(); d.err == nil && v != bodyVersion {
		return nil, nil, nil, fmt.Errorf("decode body: version %d: %w", v, ErrVersion)
	}
	target = d.bytes()
	nonce = d.bytes()
	if d.err != nil {
		return nil, nil, nil, d.err
	}
	return target, nonce, d.b, nil
}

// TargetBytes returns the encoded target of a body: equal targets have equal bytes.
func TargetBytes(body []byte) ([]byte, error) {
	t, _, _, err := splitBody(body)
	return t, err
}

// DecodeBody decodes what EncodeBody wrote.
func DecodeBody(b []byte) (target, nonce, payload any, err error) {
	tb, nb, pb, err := splitBody(b)
	if err != nil {
		return nil, nil, nil, err
	}
	if target, err = decodeValue(tb); err != nil {
		return nil, nil, nil, fmt.Errorf("decode target: %w", err)
	}
	if nonce, err = decodeValue(nb); err != nil {
		return nil, nil, nil, fmt.Errorf("decode nonce: %w", err)
	}
	if payload, err = decodeValue(pb); err != nil {
		return nil, nil, nil, fmt.Errorf("decode payload: %w", err)
	}
	return target, nonce, payload, nil
}

func decodeValue(b []byte) (any, error) {
	v, err := wire.Decode(wire.Msgpack, b, wire.Limits{MaxDepth: maxBodyDepth})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return v, nil
}
