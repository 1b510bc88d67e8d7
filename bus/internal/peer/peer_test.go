package peer_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mahou-go/mahou/bus/internal/peer"
)

func serve(t *testing.T, h *peer.Hub) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(peer.Route, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func dial(addr, proto string, key []byte, self peer.Identity) (*peer.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return peer.Dial(ctx, addr, proto, key, self)
}

func TestDial_AuthenticatesBothEnds(t *testing.T) {
	key := []byte("0123456789abcdef")
	hub := peer.NewHub(key, peer.Identity{Node: "a", Run: "ra"})
	ln := hub.Listen("link", &net.TCPAddr{})
	defer ln.Close()
	addr := serve(t, hub)

	accepted := make(chan *peer.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c.(*peer.Conn)
		}
	}()
	c, err := dial(addr, "link", key, peer.Identity{Node: "b", Run: "rb"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Peer != (peer.Identity{Node: "a", Run: "ra"}) {
		t.Errorf("client sees %+v, want a/ra", c.Peer)
	}
	s := <-accepted
	defer s.Close()
	if s.Peer != (peer.Identity{Node: "b", Run: "rb"}) {
		t.Errorf("server sees %+v, want b/rb", s.Peer)
	}
	// Bytes flow both ways once the handshake is done.
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("got %q, %v", buf, err)
	}
}

func TestDial_Refusals(t *testing.T) {
	hub := peer.NewHub([]byte("right key 123456"), peer.Identity{Node: "a"})
	ln := hub.Listen("link", &net.TCPAddr{})
	defer ln.Close()
	addr := serve(t, hub)
	if _, err := dial(addr, "link", []byte("wrong key 123456"), peer.Identity{Node: "b"}); !errors.Is(err, peer.ErrAuth) {
		t.Errorf("wrong key: got %v, want ErrAuth", err)
	}
	if _, err := dial(addr, "raft", []byte("right key 123456"), peer.Identity{Node: "b"}); !errors.Is(err, peer.ErrProtocol) {
		t.Errorf("unknown protocol: got %v, want ErrProtocol", err)
	}
}
