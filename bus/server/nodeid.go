package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// nodeID returns the node's id: the configured one, checked against the one the data
// directory saved, or the saved one, or a new one it saves. A data directory keeps its id: a
// node that restarts is the same member of the queue group.
func nodeID(dir, configured string) (string, error) {
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
