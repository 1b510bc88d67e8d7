package main_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mahou-go/mahou/internal/testutil"
)

// mahou dev serves a crush and a singyeong from one process and one data directory, and stops
// cleanly on SIGTERM.
func TestDev_RunsBothParts(t *testing.T) {
	bin := testutil.Binary(t, "./cmd/mahou")
	dir := t.TempDir()
	crush, bus := testutil.FreeAddr(t), testutil.FreeAddr(t)
	p := testutil.Start(t, bin, []string{"dev", "--data-dir", dir, "--crush-addr", crush, "--singyeong-addr", bus, "--log-level", "warn"})
	p.WaitHTTP("http://"+crush+"/readyz", 30*time.Second)
	p.WaitHTTP("http://"+bus+"/healthz", 30*time.Second)
	req, _ := http.NewRequest(http.MethodPut, "http://"+crush+"/v2/kv/hello", strings.NewReader("world"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("put through mahou dev: %v %v", err, resp)
	}
	resp.Body.Close()
	if err := p.Stop(30 * time.Second); err != nil {
		t.Fatalf("stop: %v\n%s", err, p.Output())
	}
	for _, part := range []string{"crush", "singyeong"} {
		if _, err := os.Stat(filepath.Join(dir, part)); err != nil {
			t.Fatalf("no %s data directory: %v", part, err)
		}
	}
}
