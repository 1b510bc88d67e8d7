package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// binary is the crush binary, built once for every test here.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "crush-cli")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "crush")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build crush:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// waitFor bounds every wait of these tests.
const waitFor = 15 * time.Second

var servingLine = regexp.MustCompile(`msg="crush serving" addr=(\S+)`)

// startServe runs `crush serve` with extra flags as a separate process on free ports (it picks
// them itself from 127.0.0.1:0 and logs the one it got) and waits until /readyz answers 200.
// The process is killed on cleanup.
func startServe(t *testing.T, extra ...string) string {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--raft-addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, extra...)
	cmd := exec.Command(binary, args...)
	cmd.Env = cleanEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	addrs := make(chan string, 1)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				addrs <- m[1]
			}
		}
		_ = cmd.Wait()
	}()
	var addr string
	select {
	case addr = <-addrs:
	case <-time.After(waitFor):
		t.Fatal("crush serve never logged its address")
	}
	waitReady(t, "http://"+addr)
	return "http://" + addr
}

// waitReady polls /readyz until it answers 200 or the deadline passes.
func waitReady(t *testing.T, endpoint string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		cancel()
		if err == nil && resp.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became ready (last: %v)", endpoint, err)
		}
	}
}

// cleanEnv is the environment without CRUSH_* variables, so the tests do not depend on the
// caller's.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CRUSH_") {
			env = append(env, kv)
		}
	}
	return env
}

// result is what one CLI run printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
}

// cli runs the binary with args and stdin; env entries are added to a clean environment.
type cli struct {
	t        *testing.T
	endpoint string
}

func (c cli) run(stdin string, env []string, args ...string) result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	res := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		c.t.Fatalf("run crush %q: %v", args, err)
	}
	return res
}

// ok runs a command against the test server and fails unless it exits 0.
func (c cli) ok(args ...string) string {
	c.t.Helper()
	return c.okIn("", args...)
}

func (c cli) okIn(stdin string, args ...string) string {
	c.t.Helper()
	r := c.run(stdin, nil, append(args, "--endpoints", c.endpoint)...)
	if r.code != 0 {
		c.t.Fatalf("crush %q: exit %d, stderr %q", args, r.code, r.stderr)
	}
	return r.stdout
}

// fail runs a command that must exit 1 with "crush: ... (code)" on stderr.
func (c cli) fail(code string, args ...string) result {
	c.t.Helper()
	r := c.run("", nil, append(args, "--endpoints", c.endpoint)...)
	if r.code != 1 {
		c.t.Fatalf("crush %q: got exit %d (stdout %q), want 1", args, r.code, r.stdout)
	}
	want := regexp.MustCompile(`(?m)^crush: .+ \(` + regexp.QuoteMeta(code) + `\)$`)
	if !want.MatchString(r.stderr) {
		c.t.Fatalf("crush %q: got stderr %q, want crush: <message> (%s)", args, r.stderr, code)
	}
	return r
}

// jsonOut runs a command with -o json and decodes its output into v.
func (c cli) jsonOut(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("crush %q -o json: %v in %q", args, err, out)
	}
}

// newCLI starts a server with extra serve flags for a parallel test.
func newCLI(t *testing.T, serveFlags ...string) cli {
	t.Helper()
	t.Parallel()
	return cli{t: t, endpoint: startServe(t, serveFlags...)}
}

// wantTable checks that out is an aligned table: the header line matches the given columns
// and the rows match the given patterns, in order.
func wantTable(t *testing.T, out string, header []string, rows ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	hre := regexp.MustCompile(`^` + strings.Join(header, `\s+`) + `\s*$`)
	if len(lines) == 0 || !hre.MatchString(lines[0]) {
		t.Fatalf("got table\n%s\nwant the header %v", out, header)
	}
	if len(lines)-1 != len(rows) {
		t.Fatalf("got table\n%s\nwant %d rows", out, len(rows))
	}
	for i, r := range rows {
		if !regexp.MustCompile(`^` + r + `\s*$`).MatchString(lines[i+1]) {
			t.Fatalf("got row %q, want %q", lines[i+1], r)
		}
		if len(header) > 1 {
			col := strings.Index(lines[0], header[1])
			if col > 0 && col <= len(lines[i+1]) && lines[i+1][col-1] != ' ' {
				t.Fatalf("row %q is not aligned with the header %q", lines[i+1], lines[0])
			}
		}
	}
}
