package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// alive reports whether pid is a running process (a zombie counts as dead).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// the state follows the command name in parentheses
	s := string(b)
	rest := s[strings.LastIndexByte(s, ')')+1:]
	return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestProcs_StopAllKillsTheGroup(t *testing.T) {
	dir := t.TempDir()
	ps := procs{grace: 200 * time.Millisecond}
	pidFile := filepath.Join(dir, "child.pid")
	// the shell ignores SIGTERM and starts a child: both must die, the child being no direct
	// child of ours
	p, err := ps.start("test shell", filepath.Join(dir, "log"), "/bin/sh", "-c",
		"trap '' TERM; sleep 60 & echo $! > "+pidFile+"; wait")
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	var child int
	waitFor(t, "the child's pid is written", func() bool {
		b, err := os.ReadFile(pidFile)
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && child > 0
	})
	leader := p.cmd.Process.Pid
	if !alive(leader) || !alive(child) {
		t.Fatalf("processes not running before stop: leader %v child %v", alive(leader), alive(child))
	}
	start := time.Now()
	ps.stopAll()
	if !p.exited() {
		t.Error("stopAll returned before the process exited")
	}
	waitFor(t, "the grandchild is gone", func() bool { return !alive(child) })
	if alive(leader) {
		t.Errorf("process %d still running after stopAll", leader)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stopAll took %v", d)
	}
	if len(ps.list) != 0 {
		t.Errorf("stopAll left %d processes in the list", len(ps.list))
	}
}

func TestEnv_CloseStopsProcessesAndRemovesTheDir(t *testing.T) {
	e, err := newEnv(t.TempDir())
	if err != nil {
		t.Fatalf("new env: %v", err)
	}
	n, err := e.newNode("test", 0)
	if err != nil {
		t.Fatalf("new node: %v", err)
	}
	p, err := e.procs.start("sleeper", n.logPath, "sleep", "60")
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := e.close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if !p.exited() {
		t.Error("close returned before the process exited")
	}
	if _, err := os.Stat(e.dir); !os.IsNotExist(err) {
		t.Errorf("temp dir %s still there after close (stat: %v)", e.dir, err)
	}
}

func TestWaitReady_ProcessExits(t *testing.T) {
	dir := t.TempDir()
	var ps procs
	defer ps.stopAll()
	p, err := ps.start("failing", filepath.Join(dir, "log"), "/bin/sh", "-c", "echo bad flag >&2; exit 3")
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	err = waitReady(context.Background(), p, "http://127.0.0.1:"+strconv.Itoa(ports[0])+"/", 10*time.Second)
	if !errors.Is(err, errExited) {
		t.Fatalf("got err %v, want errExited", err)
	}
	if !strings.Contains(err.Error(), "bad flag") {
		t.Errorf("error %q does not show the process's log", err)
	}
}

func TestFreePorts_Distinct(t *testing.T) {
	ports, err := freePorts(6)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Errorf("ports %v: want 6 distinct positive ports", ports)
		}
		seen[p] = true
	}
}

func TestProcCPU_CountsABusyChild(t *testing.T) {
	dir := t.TempDir()
	ps := procs{grace: 100 * time.Millisecond}
	defer ps.stopAll()
	p, err := ps.start("busy", filepath.Join(dir, "log"), "/bin/sh", "-c", "while :; do :; done")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{nodes: []*node{{proc: p}}}
	waitFor(t, "the busy loop has used 200 ms of CPU", func() bool { return c.cpuTime() >= 200*time.Millisecond })
	if (&cluster{nodes: []*node{{}}}).cpuTime() != 0 {
		t.Error("a node without a process reported CPU time")
	}
}

func TestStartCrush_ClusterThatCannotStartIsNotAvailable(t *testing.T) {
	e, err := newEnv(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	// a crush without cluster flags: the binary exits at once
	e.crushBin = "/bin/false"
	_, err = e.startCrush(context.Background(), 3)
	if !errors.Is(err, errNotAvailable) {
		t.Errorf("3-node crush that exits: got err %v, want errNotAvailable", err)
	}
	_, err = e.startCrush(context.Background(), 1)
	if err == nil || errors.Is(err, errNotAvailable) {
		t.Errorf("1-node crush that exits: got err %v, want a failure that stops the run", err)
	}
}
