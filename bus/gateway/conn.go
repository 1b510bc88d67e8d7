package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/wire"
)

// conn is one websocket client. The read loop (the HTTP handler's goroutine) owns the protocol
// state; the write loop owns the socket's write side; they share only the outbound queue.
type conn struct {
	srv    *Server
	ws     *websocket.Conn
	sock   *batchConn // the socket under ws, to write a batch of frames at once
	enc    wire.Encoding
	peerIP string
	log    *slog.Logger
	idle   *time.Timer
	wake   chan struct{} // capacity 1: the queue has work or the connection is closing
	done   chan struct{} // closed when the write loop has returned

	// Protocol state, owned by the read loop. key is also read by other goroutines (for logs),
	// so it is written under mu, once, before the client is registered.
	identified    bool
	key           bus.ClientKey
	restricted    bool
	lastHeartbeat time.Time
	unregistered  bool
	handling      map[string]any // the frame an extension Handler is handling, for ErrorInfo

	mu        sync.Mutex // guards queue, closing, closeCode, closeWhy, and writes of key; taken below Index's lock
	queue     []outbound
	closing   bool
	closeCode websocket.StatusCode
	closeWhy  string
}

// outbound is one frame waiting for the write loop: a server frame, or a delivery shared with
// other receivers (encoded once per encoding through its memo).
type outbound struct {
	frame    *wire.Frame
	delivery *bus.Delivery
}

var _ bus.Recipient = (*conn)(nil)

func newConn(srv *Server, ws *websocket.Conn, sock *batchConn, enc wire.Encoding, peerIP string) *conn {
	c := &conn{
		srv:    srv,
		ws:     ws,
		sock:   sock,
		enc:    enc,
		peerIP: peerIP,
		log:    srv.log.With("peer", peerIP, "encoding", string(enc)),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	c.idle = time.AfterFunc(srv.cfg.IdleTimeout, func() {
		c.closeWith(websocket.StatusNormalClosure, "idle timeout")
	})
	return c
}

// Deliver implements bus.Recipient: it queues d without blocking, and closes the connection
// as a slow consumer when its queue is full.
func (c *conn) Deliver(d *bus.Delivery) bool {
	return c.enqueue(outbound{delivery: d})
}

func (c *conn) send(f wire.Frame) {
	c.enqueue(outbound{frame: &f})
}

func (c *conn) enqueue(o outbound) bool {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	if len(c.queue) >= c.srv.cfg.OutboundFrames {
		c.closing, c.closeCode = true, websocket.StatusPolicyViolation
		c.closeWhy = "slow consumer"
		key := c.key
		c.mu.Unlock()
		c.srv.metrics.slowConsumers.Inc()
		c.log.Warn("closing slow consumer", "reason", "outbound queue full",
			"queued", c.srv.cfg.OutboundFrames, "app", key.App, "client", key.ID)
		c.signal()
		return false
	}
	c.queue = append(c.queue, o)
	c.mu.Unlock()
	c.signal()
	return true
}

// clientKey returns the client's key for goroutines other than the read loop.
func (c *conn) clientKey() bus.ClientKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.key
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// closeWith asks the write loop to flush what is queued and close with code. The first
// reason wins.
func (c *conn) closeWith(code websocket.StatusCode, why string) {
	c.mu.Lock()
	if !c.closing {
		c.closing, c.closeCode, c.closeWhy = true, code, why
	}
	c.mu.Unlock()
	c.signal()
}

// fatal deregisters the client, queues an op 8 error and asks for a close with code 1000 once
// it is written. Deregistering first means that a client that sees the close and reconnects
// with the same id is never refused as already registered. Read loop only.
func (c *conn) fatal(msg string, extra any) {
	c.unregister()
	c.srv.metrics.fatalSent.Inc()
	c.log.Info("closing with op 8", "error", msg, "app", c.key.App, "client", c.key.ID) // read loop only
	c.send(c.errorFrame(opError, msg, extra))
	c.closeWith(websocket.StatusNormalClosure, "")
}

// writeLoop writes queued frames until the connection closes. It is the only writer of data
// frames on the socket.
func (c *conn) writeLoop() {
	defer close(c.done)
	var batch []outbound
	for range c.wake {
		c.mu.Lock()
		batch = append(batch[:0], c.queue...)
		clear(c.queue)
		c.queue = c.queue[:0]
		closing, code, why := c.closing, c.closeCode, c.closeWhy
		c.mu.Unlock()
		if code != websocket.StatusPolicyViolation {
			if err := c.writeBatch(batch); err != nil {
				c.writeFailed(err)
				return
			}
		}
		clear(batch)
		if closing {
			c.finish(code, why)
			return
		}
	}
}

// writeBatch writes what was queued as one socket write, within one WriteTimeout for the whole
// batch: a client that cannot take a batch (at most OutboundFrames frames) in that time is a
// slow consumer. A write into the buffer does not touch the socket; the library's own control
// frames (pong, close), which may hold its write lock for a moment, are bounded by its timeouts.
func (c *conn) writeBatch(batch []outbound) error {
	typ := websocket.MessageText
	if c.enc.Binary() {
		typ = websocket.MessageBinary
	}
	// Inside a batch the library only appends to batchConn's buffer; the deadline applies to
	// the flush. A context without Done also spares the library a timer per message.
	ctx := context.Background()
	c.sock.begin()
	for _, o := range batch {
		b, err := c.encode(o)
		if err != nil {
			// A value the encoding cannot express: log it and skip the frame rather than
			// dropping the connection.
			c.log.Error("cannot encode frame", "error", err)
			continue
		}
		if err := c.ws.Write(ctx, typ, b); err != nil {
			_ = c.sock.flush(c.srv.cfg.WriteTimeout) // the write error is the one to report
			return err
		}
		c.srv.metrics.framesOut.Inc()
	}
	if err := c.sock.flush(c.srv.cfg.WriteTimeout); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return context.DeadlineExceeded
		}
		return err
	}
	return nil
}

func (c *conn) encode(o outbound) ([]byte, error) {
	if o.frame != nil {
		return wire.EncodeFrame(c.enc, *o.frame)
	}
	d := o.delivery
	return d.Memo(string(c.enc), func() ([]byte, error) {
		return wire.EncodeFrame(c.enc, deliveryFrame(d))
	})
}

func (c *conn) writeFailed(err error) {
	if errors.Is(err, context.DeadlineExceeded) {
		key := c.clientKey()
		c.srv.metrics.slowConsumers.Inc()
		c.log.Warn("closing slow consumer", "reason", "write timed out", "timeout", c.srv.cfg.WriteTimeout,
			"app", key.App, "client", key.ID)
	} else if !isClosed(err) {
		c.log.Debug("write failed", "error", err)
	}
	c.ws.CloseNow()
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
}

// finish closes the socket with a close frame. It runs on the write loop, after the last
// frame was written, so an op 8 or goodbye always precedes the close.
func (c *conn) finish(code websocket.StatusCode, why string) {
	if code == websocket.StatusPolicyViolation {
		// A slow consumer is not reading: do not wait for its close handshake.
		c.ws.CloseNow()
		return
	}
	if err := c.ws.Close(code, why); err != nil && !isClosed(err) {
		c.log.Debug("close handshake failed", "error", err)
	}
}

// readBuffers recycles frame buffers: decoders copy what they keep, so a frame's bytes are free
// once it is handled, and an idle connection holds no read buffer.
var readBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledBuffer keeps the pool from holding on to the buffer of a rare large frame.
const maxPooledBuffer = 64 << 10

// readFrame reads one message into a pooled buffer, refusing one larger than MaxFrameBytes
// (op 8 and a close with code 1009 follow). The caller hands the buffer back with
// releaseFrame once the frame is handled.
func (c *conn) readFrame(ctx context.Context) (websocket.MessageType, *[]byte, error) {
	typ, r, err := c.ws.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	limit := c.srv.cfg.MaxFrameBytes
	bp := readBuffers.Get().(*[]byte)
	buf := (*bp)[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			*bp = buf
			releaseFrame(bp)
			return 0, nil, errFrameTooLarge
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			*bp = buf
			releaseFrame(bp)
			return 0, nil, err
		}
	}
	*bp = buf
	return typ, bp, nil
}

func releaseFrame(bp *[]byte) {
	if cap(*bp) > maxPooledBuffer {
		return
	}
	*bp = (*bp)[:0]
	readBuffers.Put(bp)
}

func isClosed(err error) bool {
	var ce websocket.CloseError
	return errors.As(err, &ce) || errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, errFrameTooLarge) || websocket.CloseStatus(err) != -1
}
