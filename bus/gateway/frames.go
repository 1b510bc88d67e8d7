package gateway

import (
	"fmt"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/etf"
	"github.com/mahou-go/mahou/bus/wire"
)

// The protocol's opcodes.
const (
	opHello        = 0
	opIdentify     = 1
	opReady        = 2
	opInvalid      = 3
	opDispatch     = 4
	opHeartbeat    = 5
	opHeartbeatAck = 6
	opGoodbye      = 7
	opError        = 8
)

// opNames are the atom names the original prints in "invalid client op :<name>".
var opNames = map[int64]string{
	opHello: "hello", opIdentify: "identify", opReady: "ready", opInvalid: "invalid",
	opDispatch: "dispatch", opHeartbeat: "heartbeat", opHeartbeatAck: "heartbeat_ack",
	opGoodbye: "goodbye", opError: "error",
}

// The original's error texts (reference section 2.9), plus the texts of checks it lacked.
const (
	errNotIdentified    = "sent payload with non-identify opcode without identifying first"
	errHeartbeatTooLong = "heartbeat took too long"
	errInternal         = "internal server error"
	errNoData           = "payload has no data"
	errUnrecoverable    = "decode: payload: unrecoverable"
	errInitialMetadata  = "initial metadata: invalid"
	errRestrictedETF    = "restricted clients may not use ETF"
	errInvalidMetadata  = "invalid metadata"
	errNoRoute          = "no_route"
	errInvalidDispatch  = "invalid dispatch payload"
	errInvalidQuery     = "invalid query"
	errAuthRateLimited  = "auth: rate limited: too many failed attempts from this address, retry in %d s"
	errFrameTooBig      = "decode: payload: frame larger than %d bytes"
	errServerStopping   = "server shutting down"
)

func comboError(frameType string, enc wire.Encoding) string {
	return fmt.Sprintf("decode: payload: invalid websocket opcode/encoding combo: {%s, %s}", frameType, enc)
}

func alreadyRegistered(k bus.ClientKey) string {
	return fmt.Sprintf("%s: already registered for app %s", k.ID, k.App)
}

func invalidOp(op int64) string {
	if name, ok := opNames[op]; ok {
		return "invalid client op :" + name
	}
	return "invalid client op nil"
}

func restrictedDispatch(t any) string {
	return fmt.Sprintf("invalid dispatch type %v (are you restricted?)", t)
}

func (c *conn) frame(op int, d any) wire.Frame {
	return wire.Frame{Op: op, D: d, TS: c.srv.nowMillis()}
}

// errorFrame builds op 3 or op 8 with the original's Error struct {error, extra_info}.
func (c *conn) errorFrame(op int, msg any, extra any) wire.Frame {
	return c.frame(op, etf.Struct{{Key: "error", Value: msg}, {Key: "extra_info", Value: extra}})
}

// invalid sends op 3; the connection stays open.
func (c *conn) invalid(msg any, extra any) {
	c.srv.metrics.invalidSent.Inc()
	c.send(c.errorFrame(opInvalid, msg, extra))
}

// deliveryFrame is the op 4 a receiver gets: d is the original's Dispatch struct, whose target
// is always null.
func deliveryFrame(d *bus.Delivery) wire.Frame {
	return wire.Frame{
		Op: opDispatch,
		T:  d.Event,
		TS: d.At,
		D:  etf.Struct{{Key: "target", Value: nil}, {Key: "nonce", Value: d.Nonce}, {Key: "payload", Value: d.Payload}},
	}
}

// clientView is a client as /api/v1/query and QUERY_NODES show it.
func clientView(c *bus.Client) map[string]any {
	types := make(map[string]any, len(c.Types))
	for k, t := range c.Types {
		types[k] = string(t)
	}
	queues := make([]any, len(c.Queues))
	for i, q := range c.Queues {
		queues[i] = q
	}
	return map[string]any{
		"app_id":         c.Key.App,
		"client_id":      c.Key.ID,
		"metadata":       c.Metadata,
		"metadata_types": types,
		"socket_ip":      c.SocketIP,
		"queues":         queues,
	}
}
