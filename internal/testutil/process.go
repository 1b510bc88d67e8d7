package testutil

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildMu sync.Mutex // guards built
	built   = map[string]string{}
)

// Binary builds the main package pkg (e.g. "./cmd/crush", relative to the module root) once per
// test process and returns the path of the binary.
func Binary(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if path, ok := built[pkg]; ok {
		return path
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "mahou-bin-")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", path, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	built[pkg] = path
	return path
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find module root: no go.mod above the test")
		}
		dir = parent
	}
}

// FreeAddr returns a loopback address with a port that was free a moment ago, for processes
// that must be told their port up front. The port is below Linux's ephemeral range
// (32768-60999), which the kernel hands to outgoing connections and to ":0" listeners: a port
// from that range, released here, could be taken by any test's connection before the process
// binds it (seen in CI as "address already in use").
func FreeAddr(t testing.TB) string {
	t.Helper()
	freeAddrMu.Lock()
	defer freeAddrMu.Unlock()
	for range 100 {
		port := freeAddrLow + rand.IntN(freeAddrHigh-freeAddrLow)
		if freeAddrGiven[port] {
			continue // handed out already: its process may not have bound it yet
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // taken: try another
		}
		addr := ln.Addr().String()
		ln.Close()
		freeAddrGiven[port] = true
		return addr
	}
	t.Fatalf("no free port in %d-%d after 100 tries", freeAddrLow, freeAddrHigh)
	return ""
}

// FreeAddr's range: registered ports below the ephemeral range.
const freeAddrLow, freeAddrHigh = 20000, 32768

var (
	freeAddrMu    sync.Mutex
	freeAddrGiven = map[int]bool{} // ports FreeAddr returned in this test process
)

// Process is a running binary whose output is kept for the test log.
type Process struct {
	t    testing.TB
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// Start runs bin with args and extra environment; the process is killed at test cleanup.
func Start(t testing.TB, bin string, args []string, env ...string) *Process {
	t.Helper()
	p := &Process{t: t, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("output of %s:\n%s", filepath.Base(bin), p.out.String())
		}
	})
	return p
}

// Kill sends SIGKILL and waits for the process to exit.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits up to timeout for a clean exit, returning the exit error.
func (p *Process) Stop(timeout time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("process did not stop within %v", timeout)
	}
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Output is everything the process wrote so far.
func (p *Process) Output() string { return p.out.String() }

// WaitHTTP polls url until it answers 200, the process exits, or the deadline passes.
func (p *Process) WaitHTTP(url string, timeout time.Duration) {
	p.t.Helper()
	if err := WaitHTTP(url, timeout, p.done); err != nil {
		p.t.Fatalf("%v\noutput:\n%s", err, p.out.String())
	}
}

// WaitHTTP polls url until it answers 200, stop is closed, or the deadline passes.
func WaitHTTP(url string, timeout time.Duration, stop <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w (last error %v)", url, ctx.Err(), err)
		case <-stop:
			return fmt.Errorf("wait for %s: process exited", url)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Eventually polls cond until it holds or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
