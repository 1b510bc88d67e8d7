package main_test

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestKeys(t *testing.T) {
	c := newCLI(t)
	for _, k := range []string{"a/1", "a/2", "b/1"} {
		c.ok("put", k, "x")
	}
	c.ok("put", "a/3", "x", "--fork", "dev")
	c.ok("delete", "a/2")
	wantTable(t, c.ok("keys"), []string{"KEY"}, "a/1", "b/1")
	wantTable(t, c.ok("keys", "a/", "--revision", "3"), []string{"KEY"}, "a/1", "a/2")
	var keys struct{ Keys []string }
	c.jsonOut(&keys, "keys", "--limit", "1", "--after", "a/1")
	if !reflect.DeepEqual(keys.Keys, []string{"b/1"}) {
		t.Fatalf("got %v, want [b/1]", keys.Keys)
	}
	c.jsonOut(&keys, "keys", "--fork", "dev")
	if !reflect.DeepEqual(keys.Keys, []string{"a/3"}) {
		t.Fatalf("got %v in dev, want [a/3]", keys.Keys)
	}
	c.jsonOut(&keys, "keys", "zzz")
	if keys.Keys == nil || len(keys.Keys) != 0 {
		t.Fatalf("got %v, want an empty list", keys.Keys)
	}
	c.fail("future_revision", "keys", "--revision", "99")
}

func TestTxn(t *testing.T) {
	c := newCLI(t)
	c.ok("put", "leader", "node-1")
	txn := `{"compare":[{"key":"leader","target":"value","op":"=","value":"bm9kZS0x"}],
		"then":[{"op":"put","key":"leader","value":"bm9kZS0y"},{"op":"get","key":"leader"}],
		"else":[{"op":"get","key":"leader"}]}`
	out := c.okIn(txn, "txn")
	want := "SUCCEEDED true at revision 2\n" +
		"OP   FORK     KEY     REV  FOUND  VALUE\n" +
		"put  default  leader  1    -      -\n" +
		"get  default  leader  1    true   node-2\n"
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	file := filepath.Join(t.TempDir(), "txn.json")
	if err := os.WriteFile(file, []byte(txn), 0o600); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Succeeded bool
		Results   []struct {
			Record struct{ Value []byte }
		}
	}
	c.jsonOut(&res, "txn", "-f", file)
	if res.Succeeded || len(res.Results) != 1 || string(res.Results[0].Record.Value) != "node-2" {
		t.Fatalf("got %+v, want the else branch", res)
	}
	r := c.run(`{"then": [], "when": 1}`, nil, "txn", "--endpoints", c.endpoint)
	if r.code != 1 || !strings.HasPrefix(r.stderr, `crush: parse transaction: json: unknown field "when"`) {
		t.Fatalf("got %+v, want a parse error", r)
	}
	r = c.run(`{"compare":[{"key":"k","target":"size","op":"="}]}`, nil, "txn", "--endpoints", c.endpoint)
	if r.code != 1 || !strings.Contains(r.stderr, "(invalid_compare)") {
		t.Fatalf("got %+v, want invalid_compare", r)
	}
}

func TestStatusCompactRetention(t *testing.T) {
	c := newCLI(t)
	for _, v := range []string{"a", "b", "c"} {
		c.ok("put", "k", v)
	}
	out := c.ok("status")
	for _, re := range []string{`(?m)^REVISION\s+3$`, `(?m)^KEYS\s+1$`, `(?m)^STATE\s+leader$`, `(?m)^RETENTION\s+keep everything$`,
		`(?m)^MEMBER\s+RAFT_ADDR\s+VOTER\s+LEADER$`, `(?m)^node-\S+\s+127\.0\.0\.1:\d+\s+true\s+true$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Fatalf("got status\n%s\nwant a line matching %s", out, re)
		}
	}
	var st struct {
		Revision int64
		Raft     struct{ State string }
	}
	c.jsonOut(&st, "status")
	if st.Revision != 3 || st.Raft.State != "leader" {
		t.Fatalf("got %+v", st)
	}

	wantTable(t, c.ok("compact", "2"), []string{"COMPACTED_REVISION", "REVISION"}, `2\s+3`)
	c.fail("compacted", "get", "k", "--revision", "1")
	c.fail("invalid_revision", "compact", "0")
	r := c.run("", nil, "compact", "two", "--endpoints", c.endpoint)
	if r.code != 1 || !strings.Contains(r.stderr, `crush: revision "two"`) {
		t.Fatalf("got %+v, want a usage error", r)
	}

	wantTable(t, c.ok("retention", "get"), []string{"KEEP_REVS", "KEEP_DURATION", "POLICY"}, `0\s+-\s+keep everything`)
	wantTable(t, c.ok("retention", "set", "--keep-revs", "5", "--keep-duration", "720h"),
		[]string{"KEEP_REVS", "KEEP_DURATION", "POLICY"}, `5\s+720h0m0s\s+keep 5 revs per key, keep 720h0m0s`)
	var ret struct {
		KeepRevs     int    `json:"keep_revs"`
		KeepDuration string `json:"keep_duration"`
	}
	c.jsonOut(&ret, "retention", "get")
	if ret.KeepRevs != 5 || ret.KeepDuration != "720h0m0s" {
		t.Fatalf("got %+v", ret)
	}
	c.fail("invalid_retention", "retention", "set", "--keep-revs", "-1")
}

// deadEndpoint is an address where nothing listens.
func deadEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestEndpoints(t *testing.T) {
	c := newCLI(t)
	dead := deadEndpoint(t)
	both := dead + "," + c.endpoint

	r := c.run("v", []string{"CRUSH_ENDPOINTS=" + both}, "put", "k")
	if r.code != 0 {
		t.Fatalf("put through CRUSH_ENDPOINTS with a dead first endpoint: %+v", r)
	}
	r = c.run("", []string{"CRUSH_ENDPOINTS=" + dead}, "get", "k", "--endpoints", strings.TrimPrefix(c.endpoint, "http://"))
	if r.code != 0 || !strings.HasSuffix(r.stdout, "VALUE\nv\n") {
		t.Fatalf("--endpoints must win over CRUSH_ENDPOINTS: %+v", r)
	}
	r = c.run("", []string{"CRUSH_ENDPOINTS=" + dead}, "get", "k")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "crush: GET "+dead+"/v2/kv/k: dial tcp") {
		t.Fatalf("got %+v, want a connection error", r)
	}

	out := c.ok("health")
	wantTable(t, out, []string{"ENDPOINT", "HEALTHY", "READY", "ERROR"}, regexp.QuoteMeta(c.endpoint)+`\s+true\s+true`)
	r = c.run("", nil, "health", "-o", "json", "--endpoints", both)
	if r.code != 1 || !strings.Contains(r.stderr, "crush: 1 of 2 endpoints are not ready") ||
		!strings.Contains(r.stdout, `"healthy": false`) || !strings.Contains(r.stdout, `"ready": true`) {
		t.Fatalf("got %+v, want one bad endpoint reported", r)
	}

	r = c.run("", nil, "status", "-o", "yaml", "--endpoints", c.endpoint)
	if r.code != 1 || r.stderr != "crush: --output \"yaml\": use table or json\n" {
		t.Fatalf("got %+v, want an --output error", r)
	}
	r = c.run("", nil, "status", "--endpoints", "ftp://x")
	if r.code != 1 || !strings.Contains(r.stderr, "crush: --endpoints: parse endpoint") {
		t.Fatalf("got %+v, want an --endpoints error", r)
	}
}
