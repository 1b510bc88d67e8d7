package singyeong

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coder/websocket"
)

// run owns the connection: it reads frames, heartbeats, and reconnects when asked to.
func (c *Client) run(ws *websocket.Conn, interval time.Duration) {
	defer close(c.done)
	defer close(c.frames)
	for {
		c.session(ws, interval)
		if !c.opts.Reconnect || c.isClosed() {
			return
		}
		var ok bool
		if ws, interval, ok = c.redial(); !ok {
			return
		}
	}
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// redial reconnects with exponential backoff until it succeeds or the client is closed.
func (c *Client) redial() (*websocket.Conn, time.Duration, bool) {
	backoff := 250 * time.Millisecond
	for {
		select {
		case <-c.stop:
			return nil, 0, false
		case <-time.After(backoff):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ws, interval, err := c.connect(ctx)
		cancel()
		if err == nil {
			c.log.Info("reconnected", "client", c.opts.ClientID)
			return ws, interval, true
		}
		c.log.Warn("reconnect failed", "error", err, "retry_in", backoff)
		backoff = min(backoff*2, 30*time.Second)
	}
}

// session reads until the connection ends, heartbeating in a goroutine it owns.
func (c *Client) session(ws *websocket.Conn, interval time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	acks := make(chan struct{}, 1)
	beatDone := make(chan struct{})
	go func() {
		defer close(beatDone)
		c.heartbeat(ctx, ws, interval, acks)
	}()
	defer func() {
		cancel()
		ws.CloseNow()
		<-beatDone
		c.disconnected()
	}()
	for {
		f, err := c.read(ctx, ws)
		if err != nil {
			if !c.isClosed() {
				c.log.Info("connection ended", "error", err)
			}
			return
		}
		if !c.route(f, acks) {
			return
		}
	}
}

// route hands one frame to whoever waits for it; it returns false when the session must end.
func (c *Client) route(f Frame, acks chan struct{}) bool {
	if c.routeQueueOutcome(f) {
		return true
	}
	switch {
	case f.Op == OpHeartbeatAck:
		select {
		case acks <- struct{}{}:
		default:
		}
		c.mu.Lock()
		for _, w := range c.pingWaiters {
			close(w)
		}
		c.pingWaiters = nil
		c.mu.Unlock()
		return true
	case f.Op == OpDispatch:
		c.mu.Lock()
		w, ok := c.waiters[f.T]
		if ok {
			delete(c.waiters, f.T)
		}
		c.mu.Unlock()
		if ok {
			w <- f
			return true
		}
	}
	select {
	case c.frames <- f:
	case <-c.stop:
		return false
	}
	return f.Op != OpGoodbye
}

// heartbeat sends op 5 every interval and ends the connection when an ack is missing, as the
// reference clients do.
func (c *Client) heartbeat(ctx context.Context, ws *websocket.Conn, interval time.Duration, acks chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	outstanding := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-acks:
			outstanding = false
		case <-t.C:
			if outstanding {
				c.log.Warn("no heartbeat ack, closing", "client", c.opts.ClientID)
				ws.CloseNow()
				return
			}
			outstanding = true
			if err := c.write(ctx, ws, map[string]any{"op": OpHeartbeat, "d": map[string]any{"client_id": c.opts.ClientID}}); err != nil {
				return
			}
		}
	}
}

func (c *Client) conn() (*websocket.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if c.ws == nil {
		return nil, ErrNotConnected
	}
	return c.ws, nil
}

func (c *Client) writeFrame(ctx context.Context, frame map[string]any) error {
	ws, err := c.conn()
	if err != nil {
		return err
	}
	return c.write(ctx, ws, frame)
}

// UpdateMetadata sends UPDATE_METADATA. The server answers only errors (op 3 "invalid
// metadata" on Frames); call Ping to know it was applied. The update is kept and sent again in
// identify after a reconnect.
func (c *Client) UpdateMetadata(ctx context.Context, md Metadata) error {
	c.mu.Lock()
	merged := make(Metadata, len(c.metadata)+len(md))
	for k, v := range c.metadata {
		merged[k] = v
	}
	for k, v := range md {
		merged[k] = v
	}
	c.metadata = merged
	c.mu.Unlock()
	return c.writeFrame(ctx, map[string]any{"op": OpDispatch, "t": "UPDATE_METADATA", "d": md.wire()})
}

// Send routes payload to one client the target query matches. nonce is passed through to the
// receiver (nil for none). A target that matches nobody is answered with op 3 no_route on
// Frames unless the target is droppable.
func (c *Client) Send(ctx context.Context, target, payload, nonce any) error {
	return c.dispatch(ctx, "SEND", target, payload, nonce)
}

// Broadcast routes payload to every client the target query matches.
func (c *Client) Broadcast(ctx context.Context, target, payload, nonce any) error {
	return c.dispatch(ctx, "BROADCAST", target, payload, nonce)
}

func (c *Client) dispatch(ctx context.Context, t string, target, payload, nonce any) error {
	return c.writeFrame(ctx, map[string]any{"op": OpDispatch, "t": t, "ts": time.Now().UnixMilli(),
		"d": map[string]any{"target": target, "payload": payload, "nonce": nonce}})
}

// Ping sends a heartbeat and waits for its ack. Frames are handled in order, so every answer
// to what was sent before Ping (an op 3 no_route, say) is on Frames when Ping returns.
func (c *Client) Ping(ctx context.Context) error {
	ack := make(chan struct{})
	c.mu.Lock()
	c.pingWaiters = append(c.pingWaiters, ack)
	c.mu.Unlock()
	if err := c.writeFrame(ctx, map[string]any{"op": OpHeartbeat, "d": map[string]any{"client_id": c.opts.ClientID}}); err != nil {
		return err
	}
	select {
	case <-ack:
		return nil
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Node is a client as the server's query endpoints describe it.
type Node struct {
	AppID         string            `json:"app_id"`
	ClientID      string            `json:"client_id"`
	Metadata      map[string]any    `json:"metadata"`
	MetadataTypes map[string]string `json:"metadata_types"`
	SocketIP      string            `json:"socket_ip"`
	Queues        []string          `json:"queues"`
}

// QueryNodes asks the server, over the socket, which clients query matches. Only one
// QueryNodes runs at a time per client.
func (c *Client) QueryNodes(ctx context.Context, query any) ([]Node, error) {
	reply := make(chan Frame, 1)
	c.mu.Lock()
	if _, busy := c.waiters["QUERY_NODES"]; busy {
		c.mu.Unlock()
		return nil, errors.New("singyeong: query nodes: another query is in flight")
	}
	c.waiters["QUERY_NODES"] = reply
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiters, "QUERY_NODES")
		c.mu.Unlock()
	}()
	if err := c.writeFrame(ctx, map[string]any{"op": OpDispatch, "t": "QUERY_NODES", "d": query}); err != nil {
		return nil, err
	}
	select {
	case f := <-reply:
		d, _ := f.D.(map[string]any)
		return nodesFrom(d["nodes"])
	case <-c.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("singyeong: query nodes: %w", ctx.Err())
	}
}
