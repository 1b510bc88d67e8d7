package main

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/mahou-go/mahou/kv/boltstore"
	"github.com/mahou-go/mahou/kv/raftnode"
	"github.com/mahou-go/mahou/kv/server"
)

// TestSlowCrushLoad runs one benchmark cell against an in-process crush node with crush serve's
// default raft settings, so that go test -cpuprofile shows where the server's time goes:
//
//	MAHOU_BENCH_PROFILE=1 go test ./bench -run TestSlowCrushLoad -cpuprofile cpu.out
//	go tool pprof -top bench.test cpu.out
//
// MAHOU_BENCH_OP (put or get), MAHOU_BENCH_CLIENTS, MAHOU_BENCH_SIZE and MAHOU_BENCH_DURATION
// choose the cell (default: put, 64 clients, 256 B, 10s); MAHOU_BENCH_COMMIT_INTERVAL sets the
// state machine's group commit interval (crush serve --backend-commit-interval). The profile includes the load
// generator's goroutines, which run in this process too.
func TestSlowCrushLoad(t *testing.T) {
	if os.Getenv("MAHOU_BENCH_PROFILE") != "1" {
		t.Skip("slow: set MAHOU_BENCH_PROFILE=1 to run")
	}
	op, clients, size, d := profileCell(t)
	s := startDefaultCrush(t)
	c := &cluster{system: "crush", dial: crushDial(s)}
	if err := populate(context.Background(), c, DefaultKeys, size); err != nil {
		t.Fatalf("populate: %v", err)
	}
	before := crushRevision(t, s)
	fn := getOp(DefaultKeys, size)
	if op == "put" {
		fn = putOp(DefaultKeys, size)
	}
	res, err := runLoad(context.Background(), c.dial, clients, d, fn)
	if err != nil {
		t.Fatalf("run load: %v", err)
	}
	lat := summarize(res.Latency)
	t.Logf("%s %s %d clients: %.0f ops/s, p50 %s p99 %s", op, sizeName(size), clients, res.Throughput(), fmtDur(lat.P50), fmtDur(lat.P99))
	if delta := crushRevision(t, s) - before; op == "put" && delta != res.Ops {
		t.Errorf("counted %d puts, revision grew by %d", res.Ops, delta)
	}
}

// TestSlowCrushTimeTravel writes MAHOU_BENCH_REVS (default 10,000) 1-byte edits of a 4 KiB
// value to an in-process crush node, then reads random revs for MAHOU_BENCH_DURATION (default
// 10s), for go test -cpuprofile as TestSlowCrushLoad.
func TestSlowCrushTimeTravel(t *testing.T) {
	if os.Getenv("MAHOU_BENCH_PROFILE") != "1" {
		t.Skip("slow: set MAHOU_BENCH_PROFILE=1 to run")
	}
	_, _, _, d := profileCell(t)
	revs := DefaultRevs
	if v := os.Getenv("MAHOU_BENCH_REVS"); v != "" {
		var err error
		if revs, err = strconv.Atoi(v); err != nil {
			t.Fatalf("MAHOU_BENCH_REVS=%q: %v", v, err)
		}
	}
	s := startDefaultCrush(t)
	c := &cluster{system: "crush", dial: crushDial(s)}
	rng := rand.New(rand.NewPCG(1, 2))
	value := randomValue(rng, ttValueSize)
	values := make([][]byte, revs)
	for i := range values {
		value[rng.IntN(len(value))] ^= 0x5a
		values[i] = append([]byte(nil), value...)
	}
	doc := &ttDoc{}
	if err := doc.write(context.Background(), c, values); err != nil {
		t.Fatalf("write: %v", err)
	}
	var all []time.Duration
	for start := time.Now(); time.Since(start) < d; {
		lat, err := doc.readRandom(context.Background(), c, rng, 1000)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		all = append(all, lat.P50, lat.P99)
	}
	t.Logf("%d revs: %d batches of 1000 random reads; per batch p50 and p99: %v", revs, len(all)/2, all)
}

// startDefaultCrush runs an in-process node with crush serve's default raft timeouts.
func startDefaultCrush(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.New(server.Config{Addr: "127.0.0.1:0", RaftAddr: "127.0.0.1:0", DataDir: t.TempDir(),
		Raft: raftnode.Config{HeartbeatTimeout: raftnode.DefaultHeartbeatTimeout, ElectionTimeout: raftnode.DefaultElectionTimeout,
			LeaderLeaseTimeout: raftnode.DefaultLeaderLeaseTimeout, Store: boltstore.Config{CommitInterval: envCommitInterval(t)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	waitHTTP200(t, "http://"+s.Addr()+"/readyz")
	return s
}

// profileCell reads the cell of TestSlowCrushLoad from the environment.
func profileCell(t *testing.T) (op string, clients, size int, d time.Duration) {
	t.Helper()
	op, clients, size, d = "put", 64, 256, 10*time.Second
	if v := os.Getenv("MAHOU_BENCH_OP"); v != "" {
		op = v
	}
	var err error
	if v := os.Getenv("MAHOU_BENCH_CLIENTS"); v != "" {
		if clients, err = strconv.Atoi(v); err != nil {
			t.Fatalf("MAHOU_BENCH_CLIENTS=%q: %v", v, err)
		}
	}
	if v := os.Getenv("MAHOU_BENCH_SIZE"); v != "" {
		if size, err = parseSize(v); err != nil {
			t.Fatalf("MAHOU_BENCH_SIZE=%q: %v", v, err)
		}
	}
	if v := os.Getenv("MAHOU_BENCH_DURATION"); v != "" {
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatalf("MAHOU_BENCH_DURATION=%q: %v", v, err)
		}
	}
	return op, clients, size, d
}

// envCommitInterval reads MAHOU_BENCH_COMMIT_INTERVAL (0, the default interval, when unset).
func envCommitInterval(t *testing.T) time.Duration {
	v := os.Getenv("MAHOU_BENCH_COMMIT_INTERVAL")
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("MAHOU_BENCH_COMMIT_INTERVAL=%q: %v", v, err)
	}
	return d
}
