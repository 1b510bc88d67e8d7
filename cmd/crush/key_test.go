package main_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPutGet(t *testing.T) {
	c := newCLI(t)
	out := c.ok("put", "app/config", `{"replicas": 3}`)
	wantTable(t, out, []string{"KEY", "FORK", "REV", "REVISION"}, `app/config\s+default\s+0\s+1`)

	file := filepath.Join(t.TempDir(), "v")
	if err := os.WriteFile(file, []byte("from a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	var w struct {
		Key      string `json:"key"`
		Rev      uint64 `json:"rev"`
		Revision int64  `json:"revision"`
	}
	c.jsonOut(&w, "put", "app/config", "-f", file)
	if w.Key != "app/config" || w.Rev != 1 || w.Revision != 2 {
		t.Fatalf("got %+v, want rev 1 revision 2", w)
	}
	c.okIn("from stdin", "put", "app/config")
	c.okIn("in dev", "put", "app/config", "-f", "-", "--fork", "dev")

	out = c.ok("get", "app/config")
	for _, want := range []string{"KEY               app/config\n", "REV               2\n", "VALUE\nfrom stdin\n", "SIZE              10 bytes\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("got\n%s\nwant it to contain %q", out, want)
		}
	}
	var rec struct {
		Key, Fork, Op string
		Value         []byte
		Rev           uint64
		Ancestors     []any
	}
	c.jsonOut(&rec, "get", "app/config", "--rev", "1")
	if string(rec.Value) != "from a file" || rec.Rev != 1 || rec.Op != "put" || rec.Ancestors == nil {
		t.Fatalf("got %+v, want rev 1 from a file", rec)
	}
	c.jsonOut(&rec, "get", "app/config", "--revision", "1", "--serializable")
	if string(rec.Value) != `{"replicas": 3}` {
		t.Fatalf("got %q at revision 1", rec.Value)
	}
	c.jsonOut(&rec, "get", "app/config", "--fork", "dev")
	if string(rec.Value) != "in dev" || rec.Fork != "dev" {
		t.Fatalf("got %+v in dev", rec)
	}
	c.jsonOut(&rec, "get", "app/config", "--as-of", time.Now().UTC().Format(time.RFC3339Nano))
	if string(rec.Value) != "from stdin" {
		t.Fatalf("got %q as of now", rec.Value)
	}
	c.fail("not_found", "get", "app/config", "--as-of", "2000-01-01T00:00:00Z")
	c.fail("rev_not_found", "get", "app/config", "--rev", "7")
	r := c.run("", nil, "get", "app/config", "--rev", "1", "--revision", "1")
	if r.code != 1 || !strings.Contains(r.stderr, "crush: if any flags in the group [rev revision as-of] are set none of the others can be") {
		t.Fatalf("got %+v, want a usage error", r)
	}
}

func TestGetBinary(t *testing.T) {
	c := newCLI(t)
	value := string([]byte{0, 1, 0xff, 'x'})
	c.okIn(value, "put", "bin")
	out := c.ok("get", "bin")
	if want := "VALUE\n" + base64.StdEncoding.EncodeToString([]byte(value)) + " (base64: not printable text)\n"; !strings.HasSuffix(out, want) {
		t.Fatalf("got\n%s\nwant it to end with %q", out, want)
	}
	if raw := c.ok("get", "bin", "--raw"); raw != value {
		t.Fatalf("got raw %q, want %q", raw, value)
	}
	c.okIn("", "put", "empty")
	if raw := c.ok("get", "empty", "--raw"); raw != "" {
		t.Fatalf("got raw %q, want nothing", raw)
	}
}

func TestPutPreconditions(t *testing.T) {
	c := newCLI(t)
	c.ok("put", "lock", "me", "--if-none-match")
	r := c.fail("precondition_failed", "put", "lock", "you", "--if-none-match")
	if !strings.Contains(r.stderr, "rev 0") {
		t.Fatalf("got %q, want the current rev named", r.stderr)
	}
	c.ok("put", "lock", "me again", "--if-match", "0")
	c.fail("precondition_failed", "put", "lock", "stale", "--if-match", "0")
	c.fail("precondition_failed", "delete", "lock", "--if-match", "0")
	r = c.run("", nil, "put", "lock", "x", "-f", "somefile", "--endpoints", c.endpoint)
	if r.code != 1 || !strings.Contains(r.stderr, "crush: give the value as an argument or with -f, not both") {
		t.Fatalf("got %+v, want a usage error", r)
	}
}

func TestDelete(t *testing.T) {
	c := newCLI(t)
	c.ok("put", "k", "v")
	out := c.ok("delete", "k", "--if-match", "0")
	wantTable(t, out, []string{"KEY", "FORK", "REV", "REVISION", "PURGED"}, `k\s+default\s+1\s+2\s+false`)
	r := c.fail("not_found", "get", "k")
	if !strings.Contains(r.stderr, `key "k" was deleted at rev 1`) {
		t.Fatalf("got %q, want the tombstone's rev", r.stderr)
	}
	if out := c.ok("get", "k", "--rev", "0"); !strings.HasSuffix(out, "VALUE\nv\n") {
		t.Fatalf("got\n%s\nwant the value before the delete", out)
	}
	c.fail("not_found", "delete", "k")
	var res struct{ Purged bool }
	c.jsonOut(&res, "delete", "k", "--purge")
	if !res.Purged {
		t.Fatal("got purged false")
	}
	c.fail("not_found", "history", "k")
}

func TestHistoryDiffRevert(t *testing.T) {
	c := newCLI(t)
	for _, v := range []string{"test 3", "test 2", "test 1"} {
		c.ok("put", "k", v)
	}
	out := c.ok("history", "k")
	ts := `\d{4}-\d\d-\d\dT\S+Z`
	wantTable(t, out, []string{"REV", "REVISION", "OP", "TIME", "SIZE", "ANCESTORS"},
		`2\s+3\s+put\s+`+ts+`\s+6\s+-`, `1\s+2\s+put\s+`+ts+`\s+6\s+-`, `0\s+1\s+put\s+`+ts+`\s+6\s+-`)
	r := c.run("", nil, "history", "k", "--limit", "1", "--endpoints", c.endpoint)
	if r.code != 0 || !strings.Contains(r.stderr, "more revs: add --before-rev 2, or --all") || strings.Count(r.stdout, "\n") != 2 {
		t.Fatalf("got %+v, want one rev and a note about the next page", r)
	}
	var page struct {
		History []struct{ Rev uint64 }
		Next    *uint64
	}
	c.jsonOut(&page, "history", "k", "--limit", "1", "--all")
	if len(page.History) != 3 || page.Next != nil || page.History[2].Rev != 0 {
		t.Fatalf("got %+v, want every rev", page)
	}

	if out, want := c.ok("diff", "k"), "--- default@1\n+++ default@2\n  test \n- 2\n+ 1\n"; out != want {
		t.Fatalf("got diff\n%s\nwant\n%s", out, want)
	}
	var d struct {
		From, To struct{ Rev uint64 }
		Edits    [][2]string
	}
	c.jsonOut(&d, "diff", "k", "--from", "@0", "--to", "default@2")
	if d.From.Rev != 0 || d.To.Rev != 2 || len(d.Edits) != 3 || d.Edits[1] != [2]string{"del", "Mw=="} {
		t.Fatalf("got %+v, want 0 -> 2 with del 3 in base64", d)
	}
	c.fail("invalid_point", "diff", "k", "--from", "default@x")

	out = c.ok("revert", "k", "--to-rev", "0")
	wantTable(t, out, []string{"KEY", "FORK", "REV", "REVISION", "REVERTED_TO"}, `k\s+default\s+3\s+4\s+0`)
	if out := c.ok("get", "k", "--raw"); out != "test 3" {
		t.Fatalf("got %q after revert, want test 3", out)
	}
	c.fail("rev_not_found", "revert", "k", "--to-rev", "9")
	c.fail("precondition_failed", "revert", "k", "--to-rev", "1", "--if-match", "1")
}
