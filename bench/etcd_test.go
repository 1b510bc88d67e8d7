package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// etcdForTest returns an env with etcd's path, skipping the test when etcd is not installed.
func etcdForTest(t *testing.T) (*env, string) {
	t.Helper()
	const bin = "/usr/bin/etcd"
	if _, err := os.Stat(bin); err != nil {
		t.Skip("etcd is not installed (apt-get install -y etcd-server)")
	}
	e, err := newEnv(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.close(); err != nil {
			t.Error(err)
		}
	})
	return e, bin
}

func TestEtcd_CountsAcknowledgedPuts(t *testing.T) {
	e, bin := etcdForTest(t)
	ctx := context.Background()
	c, err := e.startEtcd(ctx, bin, 1)
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	probe, err := newEtcdClient(c.nodes[0].addr)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	before, err := probe.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := runLoad(ctx, c.dial, 8, time.Second, putOp(100, 256))
	if err != nil {
		t.Fatalf("run load: %v", err)
	}
	after, err := probe.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops == 0 || res.Ops != after-before {
		t.Errorf("counted %d puts, etcd's revision grew by %d", res.Ops, after-before)
	}
}

func TestEtcd_ThreeMembersTakeWritesAndReadAtRevision(t *testing.T) {
	e, bin := etcdForTest(t)
	ctx := context.Background()
	c, err := e.startEtcd(ctx, bin, 3)
	if err != nil {
		t.Fatalf("start 3 etcd members: %v", err)
	}
	doc := &ttDoc{}
	if err := doc.write(ctx, c, [][]byte{[]byte("one"), []byte("two"), []byte("three")}); err != nil {
		t.Fatalf("write: %v", err)
	}
	// a client of another member reads the old revisions
	cl, err := c.dial(1)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i, want := range []string{"one", "two", "three"} {
		got, err := cl.GetAt(ctx, ttKey, doc.points[i])
		if err != nil || string(got) != want {
			t.Errorf("rev %d at revision %d: got %q, %v; want %q", i+1, doc.points[i], got, err, want)
		}
	}
	e.stop(c)
	u, err := measureUsage("etcd", c.nodes[0].dataDir)
	if err != nil {
		t.Fatalf("measure: %v", err)
	}
	if u.stateInUse <= 0 || u.stateFile < u.stateInUse || u.logFile <= 0 {
		t.Errorf("usage %+v: want state pages in use within the file, and a WAL", u)
	}
}
