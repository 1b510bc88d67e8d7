// Package datadir holds what crush and singyeong do alike in a node's data directory: the node
// id kept across restarts, and files replaced durably (written, synced, renamed, the directory
// synced).
//
// This package imports only the standard library.
package datadir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// NodeIDFile is the file in the data directory that keeps the node's id.
const NodeIDFile = "node-id"

// NodeID returns the node's id: configured, checked against the one dir saved; or the saved
// one; or a new one ("node-" and 12 hex digits), which it saves. A data directory keeps its id,
// so a node that restarts is the same member of its raft group.
func NodeID(dir, configured string) (string, error) {
	path := filepath.Join(dir, NodeIDFile)
	saved, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read node id: %w", err)
	}
	prev := strings.TrimSpace(string(saved))
	id := configured
	switch {
	case id != "" && prev != "" && id != prev:
		return "", fmt.Errorf("node id %q does not match %q saved in %s: keep the id, or use a new data directory", id, prev, path)
	case id == "" && prev != "":
		return prev, nil
	case id == "":
		var b [6]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		id = "node-" + hex.EncodeToString(b[:])
	}
	if prev == "" {
		if err := os.WriteFile(path, []byte(id+"\n"), 0o640); err != nil {
			return "", fmt.Errorf("save node id: %w", err)
		}
	}
	return id, nil
}

// WriteFileSync writes r to path (created or truncated, mode 0600) and syncs it.
func WriteFileSync(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// SyncDir syncs directory dir, which makes a rename or a new file in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ReplaceFile writes path whole or not at all: write fills a temporary file beside it, which is
// synced and renamed over path once write succeeded, then the directory is synced. On any
// error path is left as it was and the temporary file is removed.
func ReplaceFile(path string, write func(w io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = SyncDir(filepath.Dir(path))
	}
	return err
}
