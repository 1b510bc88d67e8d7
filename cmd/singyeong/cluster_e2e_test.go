package main_test

import (
	"context"
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
}
