package peer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Route is the HTTP route of peer connections, for the server's mux.
const Route = "GET /internal/v1/peer"

// upgradeToken is the Upgrade header's value.
const upgradeToken = "singyeong-peer"

// Conn is an authenticated peer connection.
type Conn struct {
	net.Conn
	// Peer is the other end.
	Peer Identity
}

// Hub serves the peer upgrade on the API listener and hands each authenticated connection to
// the Listener of its protocol. It is an http.Handler for Route.
type Hub struct {
	key  []byte
	self Identity

	mu        sync.Mutex // guards listeners
	listeners map[string]*Listener
}

// NewHub returns a hub that authenticates with key (nil or empty: no key) and names itself
// self.
func NewHub(key []byte, self Identity) *Hub {
	return &Hub{key: key, self: self, listeners: make(map[string]*Listener)}
}

// Self returns the identity the hub presents.
func (h *Hub) Self() Identity { return h.self }

// Key returns the cluster key the hub authenticates with (nil: none).
func (h *Hub) Key() []byte { return h.key }

// Listen returns the listener of the connections that ask for proto; addr is what its Addr
// reports (the address peers dial: this node's API address).
func (h *Hub) Listen(proto string, addr net.Addr) *Listener {
	h.mu.Lock()
	defer h.mu.Unlock()
	ln := &Listener{hub: h, proto: proto, addr: addr, conns: make(chan *Conn), closed: make(chan struct{})}
	h.listeners[proto] = ln
	return ln
}

// ServeHTTP upgrades the request, authenticates the peer and hands the connection over; it
// returns once the connection is accepted or refused.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), upgradeToken) {
		http.Error(w, "peer connections only", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	ln := h.listeners[r.URL.Query().Get("proto")]
	h.mu.Unlock()
	if ln == nil {
		http.Error(w, "no such peer protocol", http.StatusNotFound)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot upgrade", http.StatusInternalServerError)
		return
	}
	c, brw, err := hj.Hijack()
	if err != nil {
		return
	}
	_, err = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: "+upgradeToken+"\r\nConnection: Upgrade\r\n\r\n")
	var peer Identity
	if err == nil {
		peer, err = serverHandshake(c, brw.Reader, h.key, ln.proto, h.self)
	}
	if err != nil {
		c.Close()
		return
	}
	pc := &Conn{Conn: &bufConn{Conn: c, r: brw.Reader}, Peer: peer}
	t := time.NewTimer(HandshakeTimeout)
	defer t.Stop()
	select {
	case ln.conns <- pc:
	case <-ln.closed:
		c.Close()
	case <-t.C:
		c.Close()
	}
}

// Listener is a net.Listener of the peer connections of one protocol; Accept returns *Conn.
type Listener struct {
	hub    *Hub
	proto  string
	addr   net.Addr
	conns  chan *Conn
	closed chan struct{}
	once   sync.Once
}

var _ net.Listener = (*Listener)(nil)

// Accept waits for the next authenticated connection.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, ErrClosed
	}
}

// Close stops accepting; connections being handed over are closed. It is idempotent.
func (l *Listener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		l.hub.mu.Lock()
		if l.hub.listeners[l.proto] == l {
			delete(l.hub.listeners, l.proto)
		}
		l.hub.mu.Unlock()
	})
	return nil
}

// Addr returns the address peers dial.
func (l *Listener) Addr() net.Addr { return l.addr }

// Dial opens a peer connection for proto to the node whose API listens at addr (host:port).
func Dial(ctx context.Context, addr, proto string, key []byte, self Identity) (*Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial peer %s: %w", addr, err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(HandshakeTimeout)
	}
	_ = c.SetDeadline(deadline)
	// a cancelled ctx ends the handshake too, not only its deadline
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	pc, err := upgrade(c, addr, proto, key, self)
	if !stop() && err == nil {
		err = ctx.Err() // cancelled as the handshake ended: its deadline may be in the past
	}
	if err != nil {
		c.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return nil, fmt.Errorf("dial peer %s: %w", addr, err)
	}
	_ = c.SetDeadline(time.Time{})
	return pc, nil
}

func upgrade(c net.Conn, addr, proto string, key []byte, self Identity) (*Conn, error) {
	req := "GET /internal/v1/peer?proto=" + url.QueryEscape(proto) + " HTTP/1.1\r\nHost: " + addr +
		"\r\nConnection: Upgrade\r\nUpgrade: " + upgradeToken + "\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: read upgrade answer: %v", ErrProtocol, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: upgrade answered %s", ErrProtocol, resp.Status)
	}
	peer, err := clientHandshake(c, br, key, proto, self)
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: &bufConn{Conn: c, r: br}, Peer: peer}, nil
}
