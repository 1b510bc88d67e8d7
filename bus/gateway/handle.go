package gateway

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/coder/websocket"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/wire"
)

// serve runs the connection: hello, then the read loop, then cleanup. It returns when the
// connection is closed and its write loop has returned.
func (c *conn) serve(ctx context.Context) {
	go c.writeLoop()
	c.send(c.frame(opHello, map[string]any{"heartbeat_interval": c.srv.cfg.HeartbeatInterval.Milliseconds()}))
	c.readLoop(ctx)
	c.idle.Stop()
	c.unregister()
	c.closeWith(websocket.StatusNormalClosure, "")
	<-c.done
}

func (c *conn) readLoop(ctx context.Context) {
	for {
		typ, data, err := c.readFrame(ctx)
		if errors.Is(err, errFrameTooLarge) {
			c.unregister()
			c.srv.metrics.fatalSent.Inc()
			c.send(c.errorFrame(opError, fmt.Sprintf(errFrameTooBig, c.srv.cfg.MaxFrameBytes), nil))
			c.closeWith(websocket.StatusMessageTooBig, "frame too large")
			return
		}
		if err != nil {
			if !isClosed(err) {
				c.log.Debug("read failed", "error", err)
			}
			return
		}
		c.idle.Reset(c.srv.cfg.IdleTimeout)
		goOn := c.handleSafely(typ, *data)
		releaseFrame(data)
		if !goOn {
			return
		}
	}
}

// handleSafely handles one frame and reports whether the connection goes on. A panic is a bug:
// it is logged with its stack and answered with op 8 "internal server error", so that one bad
// frame never takes the server down.
func (c *conn) handleSafely(typ websocket.MessageType, data []byte) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic while handling a frame", "panic", r, "stack", string(debug.Stack()))
			c.fatal(errInternal, nil)
			ok = false
		}
	}()
	return c.handle(typ, data)
}

// handle is the protocol state machine for one frame: decode, the identify gate, the lazy
// heartbeat check, then the op. It reports whether the connection goes on; every false has
// queued an op 8. It is one switch on purpose: the order of the checks is the protocol.
func (c *conn) handle(typ websocket.MessageType, data []byte) bool {
	if (typ == websocket.MessageText) != (c.enc == wire.JSON) {
		frameType := "binary"
		if typ == websocket.MessageText {
			frameType = "text"
		}
		c.fatal(comboError(frameType, c.enc), nil)
		return false
	}
	v, err := wire.Decode(c.enc, data, wire.Limits{MaxDepth: c.srv.cfg.MaxDepth, MaxSize: int(c.srv.cfg.MaxFrameBytes)})
	if err != nil {
		c.fatal(err.Error(), nil)
		return false
	}
	m, ok := v.(map[string]any)
	op, isInt := m["op"].(int64)
	if !ok || !isInt {
		c.fatal(errUnrecoverable, nil)
		return false
	}
	c.srv.metrics.frameIn(op).Inc()
	if !c.identified {
		if op != opIdentify {
			c.fatal(errNotIdentified, nil)
			return false
		}
		return c.identify(m["d"])
	}
	if c.srv.now().Sub(c.lastHeartbeat) > c.srv.cfg.HeartbeatInterval*3/2 {
		c.fatal(errHeartbeatTooLong, nil)
		return false
	}
	switch op {
	case opIdentify:
		c.fatal(alreadyRegistered(c.key), nil)
		return false
	case opHeartbeat:
		return c.heartbeat()
	case opDispatch:
		c.dispatch(m)
		return true
	}
	c.fatal(invalidOp(op), nil)
	return false
}

// identify registers the client (reference 2.5). Every failure is fatal, as in the original.
func (c *conn) identify(raw any) bool {
	d, _ := raw.(map[string]any)
	rawID, hasID := d["client_id"]
	rawApp, hasApp := d["application_id"]
	if !hasID || !hasApp {
		c.fatal(errUnrecoverable, nil)
		return false
	}
	id, okID := rawID.(string)
	app, okApp := rawApp.(string)
	if !okID || !okApp {
		c.fatal(errNoData, nil)
		return false
	}
	restricted, ok := c.authenticate(d["auth"])
	if !ok {
		return false
	}
	if restricted && c.enc == wire.ETF {
		c.fatal(errRestrictedETF, nil)
		return false
	}
	client, ok := c.newClient(bus.ClientKey{App: app, ID: id}, d, restricted)
	if !ok {
		return false
	}
	if err := c.register(client); err != nil {
		c.fatal(alreadyRegistered(client.Key), nil)
		return false
	}
	c.mu.Lock()
	c.key = client.Key
	c.mu.Unlock()
	c.identified, c.restricted = true, restricted
	c.srv.metrics.clients.Inc()
	c.log.Debug("identified", "app", app, "client", id, "restricted", restricted)
	c.send(c.frame(opReady, map[string]any{"client_id": id, "restricted": restricted}))
	c.srv.localChanged(client, false)
	c.srv.announce("CLIENT_CONNECTED", app)
	c.srv.presenceChanged(client.Key, true)
	return true
}

// authenticate applies the auth table of reference 2.11 and the per-IP failure limit. It
// returns whether the client is restricted, and false when it sent op 8.
func (c *conn) authenticate(raw any) (restricted, ok bool) {
	if raw == nil {
		return c.srv.cfg.Auth != "", true
	}
	if c.srv.cfg.Auth == "" {
		return true, true
	}
	if blocked, left := c.srv.authLimit.blocked(c.peerIP); blocked {
		c.srv.metrics.authRateLimited.Inc()
		c.fatal(fmt.Sprintf(errAuthRateLimited, int(left.Seconds())+1), nil)
		return false, false
	}
	given, _ := raw.(string)
	if subtle.ConstantTimeCompare([]byte(given), []byte(c.srv.cfg.Auth)) == 1 {
		return false, true
	}
	c.srv.authLimit.fail(c.peerIP)
	c.srv.metrics.authFailures.Inc()
	c.log.Info("wrong password, client is restricted")
	return true, true
}

// newClient builds the client's record: initial metadata, then the reserved keys, which win.
func (c *conn) newClient(key bus.ClientKey, d map[string]any, restricted bool) (*bus.Client, bool) {
	up := bus.MetadataUpdate{Values: map[string]any{}, Types: map[string]bus.Type{}}
	if raw, ok := d["metadata"]; ok && raw != nil {
		var err error
		if up, err = bus.ParseMetadata(raw); err != nil {
			c.fatal(errInitialMetadata, metadataProblems(err))
			return nil, false
		}
	}
	var ip any = c.peerIP
	if s, ok := d["ip"].(string); ok {
		ip = s
	}
	if restricted {
		ip = nil
	}
	reserved := map[string]any{
		bus.KeyLastHeartbeatTime:    c.srv.nowMillis(),
		bus.KeyRestricted:           restricted,
		bus.KeyEncoding:             string(c.enc),
		bus.KeyIP:                   ip,
		bus.KeyNamespace:            d["namespace"],
		bus.KeyReceiveClientUpdates: d["receive_client_updates"] == true && !restricted,
	}
	for k, v := range reserved {
		up.Values[k] = v
		up.Types[k] = bus.ReservedTypes[k]
	}
	c.lastHeartbeat = c.srv.now()
	return &bus.Client{Key: key, Metadata: up.Values, Types: up.Types, SocketIP: c.peerIP, Restricted: restricted}, true
}

// metadataProblems is the extra_info of a metadata error: the per-key messages, or the message
// when the update as a whole is malformed.
func metadataProblems(err error) any {
	var me *bus.MetadataError
	if errors.As(err, &me) {
		out := make(map[string]any, len(me.Problems))
		for k, v := range me.Problems {
			out[k] = v
		}
		return out
	}
	return err.Error()
}

// heartbeat records the heartbeat in the client's metadata and acknowledges it.
func (c *conn) heartbeat() bool {
	now := c.srv.now()
	c.lastHeartbeat = now
	updated, err := c.srv.index.Update(c.key, func(old *bus.Client) *bus.Client {
		meta := make(map[string]any, len(old.Metadata))
		for k, v := range old.Metadata {
			meta[k] = v
		}
		meta[bus.KeyLastHeartbeatTime] = now.UnixMilli()
		return old.With(meta, old.Types)
	})
	if err != nil {
		c.fatal(errNoData, nil)
		return false
	}
	c.srv.localChanged(updated, false)
	c.send(c.frame(opHeartbeatAck, map[string]any{"client_id": c.key.ID}))
	return true
}

// unregister removes the client from the index and announces it once, however the connection
// ended.
func (c *conn) unregister() {
	if !c.identified || c.unregistered {
		return
	}
	c.unregistered = true
	last, _ := c.srv.index.Get(c.key)
	if c.srv.index.Remove(c.key, c) {
		c.srv.localChanged(last.Client, true)
		c.srv.metrics.clients.Dec()
		c.srv.announce("CLIENT_DISCONNECTED", c.key.App)
		c.srv.presenceChanged(c.key, false)
	}
}

// releaseWait bounds how long identify waits for a client id to be released by its previous
// holder: a client on another node (whose removal is on its way over the cluster link), or a
// local connection that is closing. A client told to reconnect (op 7) may be faster than the
// news that its old connection is gone.
const releaseWait = time.Second

// register adds the client to the index, waiting up to releaseWait when its key is held by a
// client that is going away. Read loop only.
func (c *conn) register(client *bus.Client) error {
	deadline := time.Now().Add(releaseWait)
	for {
		err := c.srv.index.Add(client, c)
		if err == nil || !c.srv.releasing(client.Key) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// releasing reports whether the client with key k is held by a remote recipient or by a local
// connection that is closing.
func (s *Server) releasing(k bus.ClientKey) bool {
	t, ok := s.index.Get(k)
	if !ok {
		return true
	}
	holder, local := t.Recipient.(*conn)
	if !local {
		return true
	}
	holder.mu.Lock()
	defer holder.mu.Unlock()
	return holder.closing
}
