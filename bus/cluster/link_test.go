package cluster

import (
	"log/slog"
	"net"
	"testing"
	"time"
)

// Closing a link whose dial hangs (the other end accepts and never answers, like a node that
// is going away) ends it at once, instead of after the dial timeout and a backoff: membership
// events wait for it.
func TestOutLink_CloseInterruptsDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if conn, err := ln.Accept(); err == nil {
			accepted <- conn // held open, never answered
		}
	}()
	c := &Cluster{stop: make(chan struct{}), log: slog.New(slog.DiscardHandler)}
	l := newOutLink(c, "ghost", ln.Addr().String())
	c.wg.Add(1)
	go l.run()
	select {
	case conn := <-accepted:
		defer conn.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the link never dialed")
	}
	start := time.Now()
	l.close()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("close took %v (dial timeout %v)", d, dialTimeout)
	}
	c.wg.Wait()
}
