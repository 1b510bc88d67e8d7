package testutil

import (
	"testing"
	"time"
)

// Crush is a `crush serve` process on free loopback ports with its own data directory.
type Crush struct {
	t        testing.TB
	bin      string
	Addr     string
	RaftAddr string
	DataDir  string
	args     []string
	Proc     *Process
}

// StartCrush builds cmd/crush and starts a single node, waiting until it serves.
func StartCrush(t testing.TB, extra ...string) *Crush {
	t.Helper()
	c := &Crush{t: t, bin: Binary(t, "./cmd/crush"), Addr: FreeAddr(t), RaftAddr: FreeAddr(t), DataDir: t.TempDir(), args: extra}
	c.Start()
	return c
}

// URL is the base URL of the node's API.
func (c *Crush) URL() string { return "http://" + c.Addr }

// Start (re)starts the process on the same ports and data directory and waits until it is
// ready to serve linearizable reads.
func (c *Crush) Start() {
	c.t.Helper()
	args := append([]string{"serve", "--addr", c.Addr, "--raft-addr", c.RaftAddr, "--data-dir", c.DataDir, "--log-level", "warn",
		"--heartbeat-timeout", "100ms", "--election-timeout", "100ms"}, c.args...)
	c.Proc = Start(c.t, c.bin, args)
	c.Proc.WaitHTTP(c.URL()+"/readyz", 30*time.Second)
}
