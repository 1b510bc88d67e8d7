package main_test

import (
	"bufio"
	"encoding/json"
	"io"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// watcher is a running `crush watch` whose stdout lines arrive on a channel.
type watcher struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan error
}

func startWatch(t *testing.T, c cli, args ...string) *watcher {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"watch", "--endpoints", c.endpoint}, args...)...)
	cmd.Env = cleanEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &watcher{cmd: cmd, lines: make(chan string, 64), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			w.lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stdout)
		w.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	return w
}

func (w *watcher) next(t *testing.T) string {
	t.Helper()
	select {
	case l := <-w.lines:
		return l
	case <-time.After(waitFor):
		t.Fatal("no line from crush watch")
	}
	return ""
}

// stop interrupts the watch, which must exit 0.
func (w *watcher) stop(t *testing.T) {
	t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-w.done:
		if err != nil {
			t.Fatalf("crush watch exited with %v after SIGINT, want status 0", err)
		}
	case <-time.After(waitFor):
		t.Fatal("crush watch did not stop on SIGINT")
	}
}

func TestWatch(t *testing.T) {
	c := newCLI(t, "--watch-progress-interval", "50ms")
	c.ok("put", "app/a", "before")
	progress := startWatch(t, c, "idle", "--progress")
	table := startWatch(t, c, "--prefix", "app/", "--from-revision", "1")
	js := startWatch(t, c, "-o", "json", "app/a", "--from-revision", "1")
	if h := table.next(t); !regexp.MustCompile(`^REVISION\s+TYPE\s+FORK\s+KEY@REV\s+VALUE$`).MatchString(h) {
		t.Fatalf("got header %q", h)
	}
	c.ok("put", "other", "x")
	c.okIn("line 1\nline 2", "put", "app/b")
	c.okIn(string([]byte{0xff}), "put", "app/a")
	c.ok("delete", "app/b")
	for _, want := range []string{
		`^1\s+put\s+default\s+app/a@0\s+before$`,
		`^3\s+put\s+default\s+app/b@0\s+line 1\.\.\.$`,
		`^4\s+put\s+default\s+app/a@1\s+/w== \(base64: not printable text\)$`,
		`^5\s+delete\s+default\s+app/b@1\s+\(deleted\)$`,
	} {
		if l := table.next(t); !regexp.MustCompile(want).MatchString(l) {
			t.Fatalf("got %q, want %s", l, want)
		}
	}
	for _, want := range []struct {
		rev      uint64
		revision int64
		value    string
	}{{0, 1, "before"}, {1, 4, "\xff"}} {
		var ev struct {
			Type, Key, Fork string
			Rev             uint64
			Revision        int64
			Value           []byte
			Time            time.Time
		}
		l := js.next(t)
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if ev.Type != "put" || ev.Key != "app/a" || ev.Rev != want.rev || ev.Revision != want.revision || string(ev.Value) != want.value || ev.Time.IsZero() {
			t.Fatalf("got %+v, want app/a rev %d at %d", ev, want.rev, want.revision)
		}
	}
	progress.next(t)
	if l := progress.next(t); !regexp.MustCompile(`^\d+\s+progress$`).MatchString(l) {
		t.Fatalf("got %q, want a progress line", l)
	}
	table.stop(t)
	js.stop(t)
	progress.stop(t)

	c.ok("compact", "5")
	c.fail("compacted", "watch", "--from-revision", "1")
}
