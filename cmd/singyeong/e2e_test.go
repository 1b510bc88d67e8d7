package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mahou-go/mahou/bus/etf"
	"github.com/mahou-go/mahou/bus/wire"
)

// binary is the singyeong binary built once for every test here.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "singyeong-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "singyeong")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build singyeong:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const waitFor = 10 * time.Second

// lineWriter collects a process's output and hands each line to a channel.
type lineWriter struct {
	lines chan string
	buf   bytes.Buffer
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.buf.Next(i + 1))
		select {
		case w.lines <- strings.TrimSpace(line):
		default:
		}
	}
}

func newLines() *lineWriter { return &lineWriter{lines: make(chan string, 256)} }

// waitLine returns the first line matching re.
func waitLine(t *testing.T, w *lineWriter, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case line := <-w.lines:
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-deadline:
			t.Fatalf("no line matching %s", re)
		}
	}
}

type server struct {
	cmd  *exec.Cmd
	addr string
	done chan error
}

// startBinary runs singyeong serve on a free port and waits until /healthz answers 200.
func startBinary(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	stderr := newLines()
	cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
	})
	s.addr = waitLine(t, stderr, regexp.MustCompile(`singyeong serving"? addr=(\S+)`))[1]
	deadline := time.Now().Add(waitFor)
	for {
		resp, err := http.Get("http://" + s.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("healthz never answered 200")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *server) url() string { return "http://" + s.addr }

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// run runs a client command to completion.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	return runEnv(t, nil, args...)
}

// runEnv runs a command to completion with extra environment.
func runEnv(t *testing.T, env []string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func TestE2E_ListenSendQuery(t *testing.T) {
	s := startBinary(t, nil)
	stdout, stderr := newLines(), newLines()
	listen := exec.Command(binary, "listen", "--server", s.url(), "--app-id", "worker", "--client-id", "w1", "-o", "json",
		"--metadata", `{"load":{"type":"integer","value":3},"ratio":{"type":"float","value":0.5}}`)
	listen.Stdout, listen.Stderr = stdout, stderr
	if err := listen.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { listen.Process.Kill(); listen.Wait() })
	waitLine(t, stderr, regexp.MustCompile(`listening as worker/w1`))

	target := `{"application":"worker","ops":[{"path":"/load","op":"$lt","to":{"value":5}}]}`
	if out, errOut, err := run(t, "send", "--server", s.url(), "--target", target, "--payload", `{"job":42,"f":1.0}`, "--nonce", "n1"); err != nil {
		t.Fatalf("send: %v: %s %s", err, out, errOut)
	}
	line := waitLine(t, stdout, regexp.MustCompile(`^\{.*\}$`))[0]
	var frame map[string]any
	if err := json.Unmarshal([]byte(line), &frame); err != nil {
		t.Fatal(err)
	}
	d := frame["d"].(map[string]any)
	if frame["t"] != "SEND" || frame["op"] != 4.0 || d["nonce"] != "n1" || !strings.Contains(line, `"f":1.0`) {
		t.Errorf("listen printed %s", line)
	}
	// A target nobody matches: the command fails with the server's no_route.
	if _, errOut, err := run(t, "broadcast", "--server", s.url(), "--app", "nobody", "--payload", "x"); err == nil || !strings.Contains(errOut, "no_route") {
		t.Errorf("broadcast to nobody: err %v, stderr %q; want a no_route failure", err, errOut)
	}
	out, _, err := run(t, "query", "--server", s.url(), "--app", "worker", "-o", "json")
	if err != nil || !strings.Contains(out, `"client_id":"w1"`) || !strings.Contains(out, `"ratio":0.5`) {
		t.Errorf("query: %v %s", err, out)
	}
	out, _, err = run(t, "query", "--server", s.url(), "--app", "worker")
	if err != nil || !strings.Contains(out, "worker") || !strings.Contains(out, "load=3") {
		t.Errorf("query table: %v %s", err, out)
	}
}

// TestE2E_RawFramesAllEncodings speaks raw frames to the real binary in each encoding.
func TestE2E_RawFramesAllEncodings(t *testing.T) {
	s := startBinary(t, nil)
	for _, enc := range []wire.Encoding{wire.JSON, wire.Msgpack, wire.ETF} {
		t.Run(string(enc), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			ws, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/gateway/websocket?encoding="+string(enc), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			typ := websocket.MessageBinary
			if enc == wire.JSON {
				typ = websocket.MessageText
			}
			exchange := func(v any) map[string]any {
				t.Helper()
				if v != nil {
					b, err := wire.Encode(enc, v)
					if err != nil {
						t.Fatal(err)
					}
					if err := ws.Write(ctx, typ, b); err != nil {
						t.Fatal(err)
					}
				}
				_, b, err := ws.Read(ctx)
				if err != nil {
					t.Fatal(err)
				}
				got, err := wire.Decode(enc, b, wire.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				return got.(map[string]any)
			}
			if hello := exchange(nil); hello["op"] != int64(0) {
				t.Fatalf("got %v, want hello", hello)
			}
			app := "raw-" + string(enc)
			var identify any = map[string]any{"op": int64(1), "d": map[string]any{"client_id": "c", "application_id": app}}
			if enc == wire.ETF {
				// As the Elixir client sends it: atom keys at the top.
				identify = etf.Struct{{Key: "op", Value: 1}, {Key: "d", Value: map[string]any{"client_id": "c", "application_id": app}}}
			}
			if ready := exchange(identify); ready["op"] != int64(2) {
				t.Fatalf("got %v, want ready", ready)
			}
			got := exchange(map[string]any{"op": int64(4), "t": "SEND", "d": map[string]any{
				"target": map[string]any{"application": app}, "payload": map[string]any{"n": int64(1)}, "nonce": "x"}})
			if got["t"] != "SEND" || got["d"].(map[string]any)["nonce"] != "x" {
				t.Errorf("got %v", got)
			}
			if ack := exchange(map[string]any{"op": int64(5)}); ack["op"] != int64(6) {
				t.Errorf("got %v, want heartbeat_ack", ack)
			}
		})
	}
}

func TestE2E_GracefulShutdownOnSIGTERM(t *testing.T) {
	s := startBinary(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/gateway/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.Read(ctx) // hello
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_, b, err := ws.Read(ctx)
	if err != nil || !bytes.Contains(b, []byte(`"op":7`)) {
		t.Errorf("got %s, %v; want goodbye", b, err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve exited with %v, want 0", err)
		}
		s.done <- err
	case <-time.After(waitFor):
		t.Fatal("serve did not exit after SIGTERM")
	}
}

func TestE2E_ConfigPrecedenceAndValidation(t *testing.T) {
	// AUTH from the environment, overridden by --auth.
	s := startBinary(t, []string{"AUTH=from-env"}, "--auth", "from-flag")
	out, errOut, err := run(t, "send", "--server", s.url(), "--auth", "from-env", "--app", "x", "--payload", "p")
	if err == nil || !strings.Contains(errOut, "restricted") {
		t.Errorf("env password accepted over the flag: %v %s %s", err, out, errOut)
	}
	if _, errOut, err := run(t, "send", "--server", s.url(), "--auth", "from-flag", "--app", "singyeong-cli", "--payload", "p"); err != nil {
		t.Errorf("flag password refused: %v %s", err, errOut)
	}
	// SINGYEONG_URL is the client's default server.
	cmd := exec.Command(binary, "query", "--app", "none", "-o", "json", "--auth", "from-flag")
	cmd.Env = append(os.Environ(), "SINGYEONG_URL="+s.url())
	if b, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(b)) != "[]" {
		t.Errorf("SINGYEONG_URL: %v %s", err, b)
	}
	// Validation names every broken rule.
	_, errOut, err = run(t, "serve", "--max-connections", "0", "--idle-timeout", "0s", "--metadata-strategy", "append")
	for _, want := range []string{"max connections", "idle timeout", "metadata strategy"} {
		if err == nil || !strings.Contains(errOut, want) {
			t.Errorf("serve with bad flags: err %v, stderr %q lacks %q", err, errOut, want)
		}
	}
}
