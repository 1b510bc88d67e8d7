package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// env is what every benchmark needs: the processes it started, a temporary directory for data
// and logs, and the crush binary.
type env struct {
	procs    procs
	dir      string // removed by close
	crushBin string
	root     string // module root, for go build
}

// newEnv makes the temporary directory.
func newEnv(root string) (*env, error) {
	dir, err := os.MkdirTemp("", "mahou-bench-*")
	if err != nil {
		return nil, fmt.Errorf("make temp dir: %w", err)
	}
	return &env{dir: dir, root: root}, nil
}

// close stops every process and removes the temporary directory.
func (e *env) close() error {
	e.procs.stopAll()
	if err := os.RemoveAll(e.dir); err != nil {
		return fmt.Errorf("remove temp dir: %w", err)
	}
	return nil
}

// node is one server process of a cluster.
type node struct {
	name     string
	argv     []string
	dataDir  string
	addr     string // the client address: host:port for crush, http://host:port for etcd
	readyURL string
	logPath  string
	proc     *proc
}

// cluster is a running system under test of one or more nodes.
type cluster struct {
	system string // "crush" or "etcd"
	nodes  []*node
	dial   dialFunc
}

// errNotAvailable marks a configuration the system cannot run yet; the table says so
// instead of failing the whole command.
var errNotAvailable = errors.New("not available")

// startNodes starts every node, then waits for each to be ready.
func (e *env) startNodes(ctx context.Context, nodes []*node) error {
	for _, n := range nodes {
		p, err := e.procs.start(n.name, n.logPath, n.argv...)
		if err != nil {
			return err
		}
		n.proc = p
	}
	for _, n := range nodes {
		if err := waitReady(ctx, n.proc, n.readyURL, 60*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// stop stops every node of the cluster (gracefully first) and forgets its processes.
func (e *env) stop(c *cluster) {
	for _, n := range c.nodes {
		if n.proc != nil {
			n.proc.stop(30 * time.Second)
			e.procs.forget(n.proc)
			n.proc = nil
		}
	}
}

// restart stops the cluster and starts it again on the same data and ports.
func (e *env) restart(ctx context.Context, c *cluster) error {
	e.stop(c)
	if err := e.startNodes(ctx, c.nodes); err != nil {
		return fmt.Errorf("restart %s: %w", c.system, err)
	}
	return nil
}

// newNode makes a fresh data directory for node i of a system under the env's temp dir; its
// log goes beside it.
func (e *env) newNode(system string, i int) (*node, error) {
	dir, err := os.MkdirTemp(e.dir, fmt.Sprintf("%s-%d-*", system, i+1))
	if err != nil {
		return nil, fmt.Errorf("make data dir: %w", err)
	}
	return &node{name: fmt.Sprintf("%s node %d", system, i+1), dataDir: dir, logPath: dir + ".log"}, nil
}

// removeData deletes a stopped cluster's data directories (they can hold gigabytes).
func removeData(c *cluster) {
	for _, n := range c.nodes {
		_ = os.RemoveAll(n.dataDir)
		_ = os.Remove(n.logPath)
	}
}
