package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A snapshot saved from a live node restores into a new data directory that serves the same
// keys and history, and the member commands show and refuse what they should.
func TestSnapshotAndMembers(t *testing.T) {
	c := newCLI(t, "--node-id", "solo")
	c.ok("put", "cfg", "v1")
	c.ok("put", "cfg", "v2")
	file := filepath.Join(t.TempDir(), "backup.db")
	out := c.ok("snapshot", "save", file)
	if !strings.Contains(out, "backup.db") {
		t.Fatalf("snapshot save printed %q", out)
	}
	if st, err := os.Stat(file); err != nil || st.Size() == 0 {
		t.Fatalf("snapshot file: %v", err)
	}
	var members struct {
		LeaderID string `json:"leader_id"`
		Members  []struct {
			ID     string `json:"id"`
			Voter  bool   `json:"voter"`
			Leader bool   `json:"leader"`
		} `json:"members"`
	}
	c.jsonOut(&members, "member", "list")
	if members.LeaderID != "solo" || len(members.Members) != 1 || !members.Members[0].Voter {
		t.Fatalf("member list: %+v", members)
	}
	c.fail("unknown_member", "member", "remove", "nobody")
	c.fail("invalid_member", "member", "add", "n2", "not-an-address")

	dir := filepath.Join(t.TempDir(), "restored")
	r := c.run("", nil, "snapshot", "restore", file, "--data-dir", dir, "--node-id", "again")
	if r.code != 0 {
		t.Fatalf("restore: exit %d, %s", r.code, r.stderr)
	}
	if r := c.run("", nil, "snapshot", "restore", file, "--data-dir", dir); r.code == 0 {
		t.Fatal("restoring into a non-empty directory succeeded")
	}
	restored := cli{t: t, endpoint: startServe(t, "--data-dir", dir)}
	if got := restored.ok("get", "cfg", "--rev", "0", "-o", "json"); !strings.Contains(got, `"rev": 0`) {
		t.Fatalf("restored rev 0: %s", got)
	}
	var rec struct {
		Value []byte `json:"value"`
		Rev   uint64 `json:"rev"`
	}
	restored.jsonOut(&rec, "get", "cfg")
	if string(rec.Value) != "v2" || rec.Rev != 1 {
		t.Fatalf("restored cfg: %q at rev %d", rec.Value, rec.Rev)
	}
	restored.ok("put", "cfg", "v3")
	restored.jsonOut(&members, "member", "list")
	if members.LeaderID != "again" {
		t.Fatalf("restored node id %q, want again", members.LeaderID)
	}
}
