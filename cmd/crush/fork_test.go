package main_test

import (
	"strings"
	"testing"
)

func TestForkForksMerge(t *testing.T) {
	c := newCLI(t)
	c.ok("put", "app/a", "a0")
	c.ok("put", "app/b", "b0")
	out := c.ok("fork", "--to", "dev", "--prefix", "app/")
	if want := "KEY    REV  RESULT\napp/a  0    forked\napp/b  0    forked\n2 key(s) at revision 3\n"; out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	c.fail("target_exists", "fork", "--to", "dev", "--key", "app/a")
	var fr struct {
		Revision int64
		Keys     []struct{ Key, Result string }
	}
	c.jsonOut(&fr, "fork", "--from", "dev", "--to", "exp", "--key", "app/a", "--revision", "3")
	if fr.Revision != 4 || len(fr.Keys) != 1 || fr.Keys[0].Result != "forked" {
		t.Fatalf("got %+v, want app/a forked at revision 4", fr)
	}
	c.ok("fork", "--to", "dev", "--key", "app/a", "--force")

	out = c.ok("forks")
	wantTable(t, out, []string{"FORK", "KEYS", "CREATED_REVISION", "FORKED_FROM"},
		`default\s+2\s+1\s+-`, `dev\s+2\s+3\s+default:app/\*@2, default:app/a@4`, `exp\s+1\s+4\s+dev:app/a@3`)
	var forks struct {
		Forks []struct {
			Name   string
			Points []map[string]any
		}
	}
	c.jsonOut(&forks, "forks")
	if len(forks.Forks) != 3 || forks.Forks[1].Points[0]["prefix"] != "app/" || forks.Forks[1].Points[1]["key"] != "app/a" {
		t.Fatalf("got %+v, want dev's points as prefix and key", forks)
	}

	c.ok("put", "app/a", "a-dev", "--fork", "dev")
	out = c.ok("merge", "--from", "dev", "--prefix", "app/")
	if want := "KEY    REV  RESULT\napp/a  1    fast-forward\napp/b  0    unchanged\n2 key(s) at revision 7\n"; out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	c.ok("put", "app/b", "b-dev", "--fork", "dev")
	c.ok("put", "app/b", "b-main")
	r := c.fail("conflict", "merge", "--from", "dev", "--key", "app/b")
	if !strings.Contains(r.stderr, "CONFLICT  BASE_REV  SOURCE_REV  TARGET_REV\napp/b     0         1           1\n") {
		t.Fatalf("got stderr %q, want the conflicts listed", r.stderr)
	}
	var mr struct {
		Strategy string
		Keys     []struct{ Key, Result string }
	}
	c.jsonOut(&mr, "merge", "--from", "dev", "--to", "default", "--key", "app/b", "--strategy", "target-wins")
	if mr.Strategy != "target-wins" || mr.Keys[0].Result != "kept-target" {
		t.Fatalf("got %+v, want the target kept", mr)
	}
	c.ok("merge", "--from", "dev", "--key", "app/b", "--strategy", "source-wins")
	if v := c.ok("get", "app/b", "--raw"); v != "b-dev" {
		t.Fatalf("got %q after source-wins, want b-dev", v)
	}
	c.fail("invalid_strategy", "merge", "--from", "dev", "--key", "app/b", "--strategy", "ours")
	c.fail("source_not_found", "merge", "--from", "nowhere", "--key", "app/b")
	c.fail("invalid_fork", "fork", "--to", "bad fork", "--key", "app/b")
}
