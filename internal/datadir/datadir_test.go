package datadir_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mahou-go/mahou/internal/datadir"
)

func TestNodeID(t *testing.T) {
	dir := t.TempDir()
	id, err := datadir.NodeID(dir, "")
	if err != nil || !regexp.MustCompile(`^node-[0-9a-f]{12}$`).MatchString(id) {
		t.Fatalf("new id %q, %v", id, err)
	}
	if again, err := datadir.NodeID(dir, ""); err != nil || again != id {
		t.Fatalf("saved id: got %q, %v, want %q", again, err, id)
	}
	if same, err := datadir.NodeID(dir, id); err != nil || same != id {
		t.Fatalf("configured as saved: got %q, %v", same, err)
	}
	if _, err := datadir.NodeID(dir, "other"); err == nil || !strings.Contains(err.Error(), "use a new data directory") {
		t.Fatalf("another id than the saved one: %v", err)
	}
	fresh := t.TempDir()
	if got, err := datadir.NodeID(fresh, "n1"); err != nil || got != "n1" {
		t.Fatalf("configured: %q, %v", got, err)
	}
	if b, err := os.ReadFile(filepath.Join(fresh, datadir.NodeIDFile)); err != nil || string(b) != "n1\n" {
		t.Fatalf("saved %q, %v", b, err)
	}
}

func TestWriteFileSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := datadir.WriteFileSync(path, strings.NewReader("data")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "data" {
		t.Fatalf("read back %q, %v", b, err)
	}
	if err := datadir.SyncDir(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	if err := datadir.SyncDir(filepath.Join(path, "missing")); err == nil {
		t.Fatal("SyncDir of a missing directory: want an error")
	}
}

func TestReplaceFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "backup.db")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	failed := errors.New("the source broke")
	err := datadir.ReplaceFile(path, func(w io.Writer) error {
		_, _ = io.WriteString(w, "half")
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("ReplaceFile: %v, want the writer's error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("after a failed write the file holds %q, want the old content", b)
	}
	if err := datadir.ReplaceFile(path, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("file holds %q, want new", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("the directory holds %d files, want only the target (no temporary left)", len(entries))
	}
}
