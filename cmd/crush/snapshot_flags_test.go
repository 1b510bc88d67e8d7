package main_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mahou-go/mahou/internal/testutil"
)

// TestServeSnapshotFlags: with a low --snapshot-threshold and a short --snapshot-interval the
// node takes raft snapshots and compacts its log, and after kill -9 it restarts from the
// snapshot plus the trailing log with every write.
func TestServeSnapshotFlags(t *testing.T) {
	out, err := exec.Command(binary, "serve", "--snapshot-interval", "-1s", "--data-dir", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "snapshot-interval -1s: must be positive") {
		t.Errorf("serve --snapshot-interval -1s: err %v, output %q", err, out)
	}
	c := testutil.StartCrush(t, "--snapshot-threshold", "40", "--snapshot-interval", "50ms", "--trailing-logs", "8")
	put := func(i int) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/v2/kv/k%03d", c.URL(), i), strings.NewReader(fmt.Sprint("v", i)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("put k%03d: %s", i, resp.Status)
		}
	}
	for i := 0; i < 150; i++ {
		put(i)
	}
	snaps := filepath.Join(c.DataDir, "raft", "snapshots")
	testutil.Eventually(t, 15*time.Second, "a raft snapshot in "+snaps, func() bool {
		entries, err := os.ReadDir(snaps)
		return err == nil && len(entries) > 0
	})
	for i := 150; i < 160; i++ {
		put(i)
	}
	c.Proc.Kill()
	c.Start()
	for i := 0; i < 160; i++ {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v2/kv/k%03d", c.URL(), i), nil)
		req.Header.Set("Accept", "application/octet-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != fmt.Sprint("v", i) {
			t.Fatalf("after restart, k%03d: %s %q", i, resp.Status, body)
		}
	}
}
