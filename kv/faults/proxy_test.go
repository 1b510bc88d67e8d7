package faults_test

import (
	"io"
	"net"
	"sync"
	"testing"
)

// faultNet is a fault-injecting TCP proxy layer: every node's raft and API addresses that peers
// dial are proxies, which refuse and cut connections between partitioned nodes. Nodes dial from
// their own loopback IP (127.0.0.1x), so a proxy knows who is calling.
type faultNet struct {
	t       testing.TB
	mu      sync.Mutex // guards blocked, conns
	blocked map[[2]string]bool
	conns   map[*proxyConn]bool
	lns     []net.Listener
	wg      sync.WaitGroup
}

type proxyConn struct {
	from, to  string
	down, up  net.Conn
	closeOnce sync.Once
}

func (c *proxyConn) close() {
	c.closeOnce.Do(func() {
		c.down.Close()
		c.up.Close()
	})
}

func newFaultNet(t testing.TB) *faultNet {
	f := &faultNet{t: t, blocked: map[[2]string]bool{}, conns: map[*proxyConn]bool{}}
	t.Cleanup(f.close)
	return f
}

func ipPair(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// proxy listens on listen and forwards to target; connections are from the IP of the caller to
// the node whose IP is toIP.
func (f *faultNet) proxy(listen, target, toIP string) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	f.lns = append(f.lns, ln)
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			from, _, _ := net.SplitHostPort(down.RemoteAddr().String())
			go f.pipe(down, from, target, toIP)
		}
	}()
}

func (f *faultNet) pipe(down net.Conn, from, target, to string) {
	f.mu.Lock()
	blocked := f.blocked[ipPair(from, to)]
	f.mu.Unlock()
	if blocked {
		down.Close()
		return
	}
	up, err := net.Dial("tcp", target)
	if err != nil {
		down.Close()
		return
	}
	c := &proxyConn{from: from, to: to, down: down, up: up}
	f.mu.Lock()
	f.conns[c] = true
	f.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, down); done <- struct{}{} }()
	go func() { _, _ = io.Copy(down, up); done <- struct{}{} }()
	<-done
	c.close()
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
}

// isolate cuts the given IPs off from every other IP in all, and drops their connections.
func (f *faultNet) isolate(all []string, ips ...string) {
	f.mu.Lock()
	in := map[string]bool{}
	for _, ip := range ips {
		in[ip] = true
	}
	for _, a := range all {
		for _, b := range all {
			if a != b && in[a] != in[b] {
				f.blocked[ipPair(a, b)] = true
			}
		}
	}
	var cut []*proxyConn
	for c := range f.conns {
		if f.blocked[ipPair(c.from, c.to)] {
			cut = append(cut, c)
		}
	}
	f.mu.Unlock()
	for _, c := range cut {
		c.close()
	}
}

func (f *faultNet) heal() {
	f.mu.Lock()
	f.blocked = map[[2]string]bool{}
	f.mu.Unlock()
}

func (f *faultNet) close() {
	f.mu.Lock()
	for _, ln := range f.lns {
		ln.Close()
	}
	for c := range f.conns {
		c.close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
