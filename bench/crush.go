package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// buildCrush builds cmd/crush into the env's temp dir.
func (e *env) buildCrush(ctx context.Context) error {
	bin := filepath.Join(e.dir, "crush")
	if err := goBuild(ctx, e.root, bin, "./cmd/crush"); err != nil {
		return err
	}
	e.crushBin = bin
	return nil
}

// goBuild runs go build -o bin pkg in the module root.
func goBuild(ctx context.Context, root, bin, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s: %w", pkg, err)
	}
	return nil
}

// moduleRoot returns the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("find module root: run go run ./bench from inside the repository")
	}
	return filepath.Dir(mod), nil
}

// startCrush starts a crush cluster of n nodes on loopback with fresh data directories. A
// cluster of more than one node uses crush serve's --node-id and --peers flags (static
// bootstrap); if those do not work yet, the error wraps errNotAvailable.
func (e *env) startCrush(ctx context.Context, n int) (*cluster, error) {
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	var peers []string
	for i := range n {
		peers = append(peers, fmt.Sprintf("n%d=127.0.0.1:%d", i+1, ports[2*i+1]))
	}
	c := &cluster{system: "crush"}
	for i := range n {
		nd, err := e.newNode("crush", i)
		if err != nil {
			return nil, err
		}
		nd.addr = fmt.Sprintf("127.0.0.1:%d", ports[2*i])
		nd.readyURL = "http://" + nd.addr + "/readyz"
		nd.argv = []string{e.crushBin, "serve", "--addr", nd.addr, "--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[2*i+1]),
			"--data-dir", nd.dataDir, "--log-level", "warn"}
		if n > 1 {
			nd.argv = append(nd.argv, "--node-id", fmt.Sprintf("n%d", i+1), "--peers", strings.Join(peers, ","))
		}
		c.nodes = append(c.nodes, nd)
	}
	c.dial = func(i int) (client, error) { return newCrushClient(c.nodes[i%len(c.nodes)].addr), nil }
	if err := e.startNodes(ctx, c.nodes); err != nil {
		return e.failCluster(c, n, err)
	}
	if n > 1 {
		if err := probeWrites(ctx, c); err != nil {
			return e.failCluster(c, n, err)
		}
	}
	return c, nil
}

// failCluster stops a cluster that did not start; a multi-node crush cluster that fails to
// start is reported as not available, since its cluster mode is still being built.
func (e *env) failCluster(c *cluster, n int, err error) (*cluster, error) {
	e.stop(c)
	removeData(c)
	if c.system == "crush" && n > 1 {
		return nil, fmt.Errorf("%w: %d-node crush: %w", errNotAvailable, n, err)
	}
	return nil, fmt.Errorf("start %d-node %s: %w", n, c.system, err)
}

// probeWrites writes one key through every node, so a cluster whose followers cannot take
// writes is found before the measurements.
func probeWrites(ctx context.Context, c *cluster) error {
	for i := range c.nodes {
		cl, err := c.dial(i)
		if err != nil {
			return err
		}
		_, err = cl.Put(ctx, "bench/probe", []byte("probe"))
		_ = cl.Close()
		if err != nil {
			return fmt.Errorf("write through node %d: %w", i+1, err)
		}
	}
	return nil
}
