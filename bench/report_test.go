package main

import (
	"strings"
	"testing"
	"time"
)

func TestWriteKVTable(t *testing.T) {
	res := newKVResults()
	c1 := cell{nodes: 1, op: "put", size: 256, clients: 64}
	for _, ops := range []float64{900, 1000, 5000} {
		res.add(c1, "etcd", sample{opsPerSec: ops, serverCPU: ops / 1000, lat: latencies{P50: time.Millisecond, P99: 3 * time.Millisecond}})
		res.add(c1, "crush", sample{opsPerSec: ops * 2, serverCPU: 0.5, lat: latencies{P50: 500 * time.Microsecond, P99: 2 * time.Millisecond}})
	}
	c3 := cell{nodes: 3, op: "get", size: 4096, clients: 1}
	res.add(c3, "etcd", sample{opsPerSec: 100})
	res.unavailable[3] = map[string]string{"crush": "not available: unknown flag: --peers"}
	var b strings.Builder
	writeKVTable(&b, res, 3, time.Second)
	out := b.String()
	for _, want := range []string{
		"| 1 | put | 256 B | 64 | 1000 | 2000 | 2.00x | 1.00 ms / 3.00 ms | 500 µs / 2.00 ms | 1.00 / 0.50 |",
		"| 3 | get | 4 KiB | 1 | 100 | not available | – |",
		"3-node crush: not available: unknown flag: --peers",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestBusResults_Add(t *testing.T) {
	r := &busResults{runs: map[string][]busRun{}}
	out := "NATS nats://127.0.0.1:1: 1000 receivers + 8 senders, payload 256 B, window 512\n" +
		"idle memory: server RSS +20.0 MiB = 20.5 KiB per client\n" +
		"nats app-only SEND: sent 100, delivered 100 in 1.0s = 100 msgs/s; latency p50 1.5ms p99 3ms\n" +
		"nats 2-op SEND: sent 50, delivered 50 in 1.0s = 50 msgs/s; latency p50 10µs p99 20µs\n"
	if err := r.add("NATS", out); err != nil {
		t.Fatalf("add: %v", err)
	}
	run := r.runs["NATS"][0]
	if got := run.sends["app-only"]; got.opsPerSec != 100 || got.lat.P99 != 3*time.Millisecond {
		t.Errorf("app-only: got %+v", got)
	}
	if got := run.sends["2-op"]; got.lat.P50 != 10*time.Microsecond {
		t.Errorf("2-op: got %+v", got)
	}
	if run.kibPerCon != 20.5 {
		t.Errorf("memory: got %v KiB, want 20.5", run.kibPerCon)
	}
	if err := r.add("singyeong", "connection refused\n"); err == nil {
		t.Error("add of an output without SEND lines: got nil error")
	}
}
