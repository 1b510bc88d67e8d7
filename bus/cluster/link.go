package cluster

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/internal/peer"
)

// Timings of the links.
const (
	dialTimeout   = 5 * time.Second
	writeTimeout  = 10 * time.Second
	maxBackoff    = 2 * time.Second
	gossipTimeout = time.Second
	// deliveryMemo keys a delivery's link encoding in its memo, beside the wire encodings.
	deliveryMemo = "cluster-link"
)

// outLink is this node's connection to one other node: everything this node tells that node
// goes through it, in order (its clients' records, deliveries to that node's clients,
// messages). One goroutine dials and writes; while connected a second one reads, only to
// notice at once that the other end is gone. Frames queued while no connection is up are
// dropped: a new connection starts with the whole current state (the records of this node's
// clients), which supersedes them.
type outLink struct {
	c    *Cluster
	node string
	addr string
	wake chan struct{} // capacity 1: the queue has work, or the connection ended
	done chan struct{} // closed when run returns
	quit chan struct{} // closed by close: a dial or a backoff in progress ends at once

	// mu guards conn, queue, bytes and closed. It is taken below the broker's lock (deliveries
	// from queue dispatch) and above the gateway index's lock (the state sent at connect).
	mu     sync.Mutex
	conn   *peer.Conn // nil while not connected
	queue  [][]byte
	bytes  int
	closed bool
}

func newOutLink(c *Cluster, node, addr string) *outLink {
	return &outLink{c: c, node: node, addr: addr, wake: make(chan struct{}, 1), done: make(chan struct{}),
		quit: make(chan struct{})}
}

func (l *outLink) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// send queues frame (one or more byte slices written back to back) and reports whether it
// was taken: false while no connection is up, or when the peer fell LinkBuffer behind (the
// connection is then cut).
func (l *outLink) send(frame ...[]byte) bool {
	n := 0
	for _, b := range frame {
		n += len(b)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil || l.closed {
		return false
	}
	if l.bytes+n > l.c.cfg.LinkBuffer {
		l.c.log.Warn("peer link too far behind: cutting it", "node", l.node, "queued_bytes", l.bytes)
		l.c.metrics.linkCuts.Inc()
		l.conn.Close()
		l.conn, l.queue, l.bytes = nil, nil, 0
		l.signal()
		return false
	}
	l.queue = append(l.queue, frame...)
	l.bytes += n
	l.signal()
	return true
}

// deliver queues a delivery for the client k of the link's node.
func (l *outLink) deliver(k bus.ClientKey, d *bus.Delivery) bool {
	body, err := d.Memo(deliveryMemo, func() ([]byte, error) { return encodeDelivery(d) })
	if err != nil {
		l.c.log.Error("cannot encode a delivery for another node", "error", err)
		return false
	}
	return l.send(deliverHeader(k, len(body)), body)
}

// close stops the link and waits for its goroutine.
func (l *outLink) close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.quit)
	}
	if l.conn != nil {
		l.conn.Close()
	}
	l.mu.Unlock()
	l.signal()
	<-l.done
}

func (l *outLink) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// A link that keeps failing is logged at warn level at its linkWarnAfter-th failed attempt, then
// at every linkWarnEvery-th.
const (
	linkWarnAfter = 5
	linkWarnEvery = 50
)

// run connects, sends this node's state, then writes until the connection fails, and again,
// with backoff, until the link is closed.
func (l *outLink) run() {
	defer l.c.wg.Done()
	defer close(l.done)
	backoff := 20 * time.Millisecond
	failures := 0
	for !l.isClosed() {
		conn, err := l.dial()
		if err != nil {
			// A wrong cluster key or a duplicate node id fails every attempt: say so at warn
			// level after a few, and again now and then, rather than only in debug logs.
			failures++
			level := slog.LevelDebug
			if failures == linkWarnAfter || failures%linkWarnEvery == 0 {
				level = slog.LevelWarn
			}
			l.c.log.Log(context.Background(), level, "link to peer failed", "node", l.node, "addr", l.addr,
				"attempts", failures, "error", err)
			if !l.sleep(backoff) {
				return
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff, failures = 20*time.Millisecond, 0
		l.c.log.Debug("linked to peer", "node", l.node, "addr", l.addr)
		l.pump(conn)
		l.c.peerDown(l.node)
	}
}

func (l *outLink) dial() (*peer.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	go func() {
		select {
		case <-l.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	conn, err := peer.Dial(ctx, l.addr, linkProto, l.c.cfg.Key, l.c.self)
	if err != nil {
		return nil, err
	}
	if conn.Peer.Node != l.node {
		conn.Close()
		return nil, errWrongPeer(l.node, conn.Peer.Node)
	}
	return conn, nil
}

func (l *outLink) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.c.stop:
		return false
	case <-l.quit:
		return false
	}
}

// start makes conn the link's connection and queues the state this node sends first: every
// local client's record, then synced. Under mu, so that no change of a client is queued
// between the records read here and their being queued: a change made before is in the
// records, one made after is queued after them.
func (l *outLink) start(conn *peer.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		conn.Close()
		return false
	}
	l.conn, l.queue, l.bytes = conn, nil, 0
	for _, cl := range l.c.gw.LocalClients() {
		f, err := encodeUpsert(cl, l.c.sinceOf(cl.Key))
		if err != nil {
			l.c.log.Error("cannot encode a client for another node", "error", err)
			continue
		}
		l.queue = append(l.queue, f)
		l.bytes += len(f)
	}
	l.queue = append(l.queue, encodeSynced())
	l.signal()
	return true
}

// pump writes the queue to conn until conn fails or the link closes.
func (l *outLink) pump(conn *peer.Conn) {
	if !l.start(conn) {
		return
	}
	readerDone := make(chan struct{})
	go func() { // owned by pump, which waits for it
		defer close(readerDone)
		_, _ = io.Copy(io.Discard, conn) // the peer writes nothing: this ends when it goes
		l.mu.Lock()
		if l.conn == conn {
			l.conn, l.queue, l.bytes = nil, nil, 0
		}
		l.mu.Unlock()
		l.signal()
	}()
	defer func() { conn.Close(); <-readerDone }()
	var batch [][]byte
	for range l.wake {
		l.mu.Lock()
		current := l.conn == conn
		batch = append(batch[:0], l.queue...)
		clear(l.queue)
		l.queue, l.bytes = l.queue[:0], 0
		l.mu.Unlock()
		if !current {
			return
		}
		if len(batch) == 0 {
			continue
		}
		l.c.metrics.linkWrites.Inc()
		_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		bufs := net.Buffers(batch)
		_, err := bufs.WriteTo(conn)
		clear(batch)
		if err != nil {
			l.c.log.Info("link to peer broke", "node", l.node, "error", err)
			l.mu.Lock()
			if l.conn == conn {
				l.conn, l.queue, l.bytes = nil, nil, 0
			}
			l.mu.Unlock()
			return
		}
	}
}
