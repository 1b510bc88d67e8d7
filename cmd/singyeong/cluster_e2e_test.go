package main_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	singyeong "github.com/mahou-go/mahou/client/singyeong"
	"github.com/mahou-go/mahou/internal/testutil"
)

// TestE2E_ClusterFlags checks the cluster flags of serve: the help documents them, bad values
// are refused with every reason at once, and two real processes form one bus.
func TestE2E_ClusterFlags(t *testing.T) {
	help, _, err := run(t, "serve", "--help")
	for _, want := range []string{"--node-id", "--cluster-addr", "--join", "--cluster-key", "SINGYEONG_CLUSTER_KEY", "--advertise-addr", "/api/v1/cluster"} {
		if err != nil || !strings.Contains(help, want) {
			t.Errorf("serve --help lacks %q (err %v)", want, err)
		}
	}

	_, errOut, err := runEnv(t, []string{"SINGYEONG_CLUSTER_KEY=c2hvcnQ="}, "serve", "--join", "nope", "--data-dir", t.TempDir())
	for _, want := range []string{"must decode to 16, 24 or 32 bytes", "need --cluster-addr"} {
		if err == nil || !strings.Contains(errOut, want) {
			t.Errorf("serve with bad cluster flags: err %v, stderr %q lacks %q", err, errOut, want)
		}
	}
	if _, errOut, err := run(t, "serve", "--cluster-addr", "127.0.0.1:0", "--cluster-key", "***", "--data-dir", t.TempDir()); err == nil ||
		!strings.Contains(errOut, "not base64") {
		t.Errorf("--cluster-key ***: err %v, stderr %q", err, errOut)
	}

	// Two nodes, the second joining the first through the environment.
	n1 := &faultNode{id: "e1", addr: testutil.FreeAddr(t), clusterAddr: testutil.FreeAddr(t), dir: t.TempDir()}
	n2 := &faultNode{id: "e2", addr: testutil.FreeAddr(t), clusterAddr: testutil.FreeAddr(t), dir: t.TempDir()}
	key := "SINGYEONG_CLUSTER_KEY=MDEyMzQ1Njc4OWFiY2RlZg=="
	n1.proc = testutil.Start(t, binary, []string{"serve", "--addr", n1.addr, "--data-dir", n1.dir, "--node-id", n1.id,
		"--cluster-addr", n1.clusterAddr, "--log-level", "warn"}, key)
	n1.proc.WaitHTTP(n1.url()+"/healthz", 20*time.Second)
	n2.proc = testutil.Start(t, binary, []string{"serve", "--addr", n2.addr, "--data-dir", n2.dir, "--log-level", "warn"},
		key, "SINGYEONG_NODE_ID=e2", "SINGYEONG_CLUSTER_ADDR="+n2.clusterAddr, "SINGYEONG_JOIN="+n1.clusterAddr)
	n2.proc.WaitHTTP(n2.url()+"/healthz", 20*time.Second)
	testutil.Eventually(t, 20*time.Second, "two nodes form a cluster", func() bool { return formed(n1, 2) && formed(n2, 2) })

	// A client of e2 is found through e1.
	c, err := singyeong.Dial(context.Background(), singyeong.Options{URL: n2.url(), AppID: "worker", ClientID: "w"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	testutil.Eventually(t, 5*time.Second, "e1 routes to the client of e2", func() bool {
		nodes, err := singyeong.Query(context.Background(), nil, n1.url(), "", map[string]any{"application": "worker"})
		return err == nil && len(nodes) == 1 && nodes[0].ClientID == "w"
	})

	// The cluster commands: the table, the JSON, and the errors of a removal.
	out, errOut, err := run(t, "cluster", "status", "--server", n1.url())
	if err != nil {
		t.Fatalf("cluster status: %v, %s", err, errOut)
	}
	for _, re := range []string{`(?m)^e1 \*\s+alive\s+self\s`, `(?m)^e2\s+alive\s+synced\s+1\s+` + n2.addr, `queue group: (Leader|Follower), leader e[12]`} {
		if !regexpMatch(re, out) {
			t.Errorf("cluster status lacks %s:\n%s", re, out)
		}
	}
	out, _, err = run(t, "cluster", "status", "--server", n2.url(), "-o", "json")
	var st map[string]any
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st["node"] != "e2" || len(st["members"].([]any)) != 2 {
		t.Errorf("cluster status -o json: %v, %q", err, out)
	}
	if _, errOut, err := run(t, "cluster", "remove", "nope", "--server", n2.url()); err == nil || !strings.Contains(errOut, "unknown_member") {
		t.Errorf("cluster remove nope: err %v, stderr %q", err, errOut)
	}
	if _, errOut, err := run(t, "cluster", "remove", "--server", n2.url()); err == nil || !strings.Contains(errOut, "accepts 1 arg") {
		t.Errorf("cluster remove without an id: err %v, stderr %q", err, errOut)
	}
}

// TestE2E_ClusterCommandsSingleNode: a node running alone is a cluster of one for
// `cluster status`, and `cluster remove` says why there is nothing to remove.
func TestE2E_ClusterCommandsSingleNode(t *testing.T) {
	s := startBinary(t, nil, "--node-id", "solo")
	out, errOut, err := run(t, "cluster", "status", "--server", s.url())
	if err != nil || !regexpMatch(`(?m)^solo \*\s+alive\s+self\s+0\s+`+s.addr+`\s+-\s+leader$`, out) ||
		!strings.Contains(out, "queue group: Leader, leader solo") {
		t.Errorf("cluster status: %v, %q, %q", err, out, errOut)
	}
	_, errOut, err = run(t, "cluster", "remove", "n2", "--server", s.url())
	if err == nil || !strings.Contains(errOut, "http 409") || !strings.Contains(errOut, "not_clustered") ||
		strings.Contains(errOut, "singyeong: singyeong:") {
		t.Errorf("cluster remove on a single node: err %v, stderr %q", err, errOut)
	}
}
