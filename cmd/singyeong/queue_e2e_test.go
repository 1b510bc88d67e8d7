package main_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	singyeong "github.com/mahou-go/mahou/client/singyeong"
)

func dialClient(t *testing.T, s *server, opts singyeong.Options) *singyeong.Client {
	t.Helper()
	opts.URL = s.url()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := singyeong.Dial(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestE2E_QueueCommands dead-letters messages through the real binary (its max deliveries set
// from the environment) and administers them with the queue commands.
func TestE2E_QueueCommands(t *testing.T) {
	s := startBinary(t, []string{"SINGYEONG_QUEUE_MAX_DELIVERIES=1"})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	w := dialClient(t, s, singyeong.Options{AppID: "worker"})
	var ids []string
	for i := range 3 {
		if err := w.Queue(ctx, "jobs", nil, map[string]any{"n": i}, nil); err != nil {
			t.Fatal(err)
		}
		if err := w.QueueRequest(ctx, "jobs"); err != nil {
			t.Fatal(err)
		}
		f := <-w.Frames()
		m, ok := f.QueueMessage()
		if !ok {
			t.Fatalf("got %+v", f)
		}
		w.Nack(ctx, "jobs", m.ID, 0)
		ids = append(ids, m.ID)
	}
	if err := w.Queue(ctx, "jobs", map[string]any{"application": "nobody"}, "waits", nil); err != nil {
		t.Fatal(err)
	}

	out, errOut, err := run(t, "queue", "ls", "--server", s.url())
	if err != nil || !strings.Contains(out, "QUEUE") || !regexpMatch(`jobs\s+1\s+1\s+0\s+0\s+3\s+0\s+\d+`, out) {
		t.Errorf("queue ls: %v %s %s", err, out, errOut)
	}
	out, _, err = run(t, "queue", "ls", "jobs", "--server", s.url(), "-o", "json")
	var stats []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &stats) != nil || len(stats) != 1 || stats[0]["dead_lettered"] != 3.0 {
		t.Errorf("queue ls -o json: %v %s", err, out)
	}
	out, _, err = run(t, "queue", "dlq", "jobs", "--server", s.url(), "--limit", "2")
	if err != nil || !strings.Contains(out, ids[0]) || !strings.Contains(out, "max_deliveries") || !strings.Contains(out, `{"n":0}`) ||
		!strings.Contains(out, "more: --after") || strings.Contains(out, ids[2]) {
		t.Errorf("queue dlq: %v %s", err, out)
	}
	if _, errOut, err := run(t, "queue", "requeue", "jobs", "--server", s.url()); err == nil || !strings.Contains(errOut, "--all") {
		t.Errorf("requeue without a selection: %v %s", err, errOut)
	}
	out, _, err = run(t, "queue", "purge", "jobs", "--dlq", "--id", ids[0], "--server", s.url())
	if err != nil || strings.TrimSpace(out) != "jobs: 1 purged" {
		t.Errorf("purge --dlq --id: %v %q", err, out)
	}
	out, _, err = run(t, "queue", "requeue", "jobs", "--all", "--server", s.url(), "-o", "json")
	if err != nil || strings.TrimSpace(out) != `{"queue":"jobs","requeued":2}` {
		t.Errorf("requeue --all: %v %q", err, out)
	}
	out, _, err = run(t, "queue", "purge", "jobs", "--server", s.url())
	if err != nil || strings.TrimSpace(out) != "jobs: 3 purged" {
		t.Errorf("purge: %v %q", err, out)
	}
	if _, errOut, err := run(t, "queue", "ls", "nope", "--server", s.url()); err == nil || !strings.Contains(errOut, "queue_not_found") {
		t.Errorf("ls of an unknown queue: %v %s", err, errOut)
	}
}

// TestE2E_QueueSurvivesRestart enqueues on the real binary, stops it, starts it again on the
// same data directory and consumes.
func TestE2E_QueueSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := startBinary(t, nil, "--data-dir", dir)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	p := dialClient(t, s, singyeong.Options{AppID: "producer"})
	if err := p.Queue(ctx, "jobs", map[string]any{"application": "worker"}, "kept", nil); err != nil {
		t.Fatal(err)
	}
	s.cmd.Process.Kill()
	<-s.done
	s.done <- nil
	s = startBinary(t, nil, "--data-dir", dir)
	w := dialClient(t, s, singyeong.Options{AppID: "worker"})
	w.QueueRequest(ctx, "jobs")
	select {
	case f := <-w.Frames():
		if m, ok := f.QueueMessage(); !ok || m.Payload != "kept" {
			t.Errorf("got %+v", f)
		}
	case <-time.After(waitFor):
		t.Fatal("the confirmed message did not survive kill -9")
	}
}

func TestE2E_QueueFlagValidation(t *testing.T) {
	_, errOut, err := runEnv(t, []string{"SINGYEONG_QUEUE_ACK_TIMEOUT=soon"}, "serve", "--queue-max-deliveries", "0", "--proxy-timeout", "0s")
	for _, want := range []string{"SINGYEONG_QUEUE_ACK_TIMEOUT", "max deliveries", "timeout"} {
		if err == nil || !strings.Contains(errOut, want) {
			t.Errorf("err %v, stderr %q lacks %q", err, errOut, want)
		}
	}
}

// TestE2E_QueueBackup backs up a running server's queues and starts another server on the copy.
func TestE2E_QueueBackup(t *testing.T) {
	s := startBinary(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	p := dialClient(t, s, singyeong.Options{AppID: "producer"})
	for i := range 20 {
		if err := p.Queue(ctx, "jobs", map[string]any{"application": "worker"}, i, nil); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	out, errOut, err := run(t, "queue", "backup", filepath.Join(dir, "queues.db"), "--server", s.url())
	if err != nil || !strings.Contains(out, "bytes") {
		t.Fatalf("backup: %v %s %s", err, out, errOut)
	}
	restored := startBinary(t, nil, "--data-dir", dir)
	out, _, err = run(t, "queue", "ls", "jobs", "--server", restored.url(), "-o", "json")
	if err != nil || !strings.Contains(out, `"ready":20`) {
		t.Errorf("restored server: %v %s", err, out)
	}
}
