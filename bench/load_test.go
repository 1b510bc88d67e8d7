package main

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunLoad_CountsAcknowledgedPutsOfCrush(t *testing.T) {
	s := startCrushServer(t)
	before := crushRevision(t, s)
	res, err := runLoad(context.Background(), crushDial(s), 8, time.Second, putOp(100, 256))
	if err != nil {
		t.Fatalf("run load: %v", err)
	}
	after := crushRevision(t, s)
	if res.Ops == 0 {
		t.Fatal("got 0 puts, want some")
	}
	if got, want := res.Ops, after-before; got != want {
		t.Errorf("counted %d puts, store revision grew by %d", got, want)
	}
	if got := int64(len(res.Latency)); got != res.Ops {
		t.Errorf("got %d latency samples, want one per counted op (%d)", got, res.Ops)
	}
	if res.Elapsed < time.Second {
		t.Errorf("elapsed %v, want at least the 1s duration", res.Elapsed)
	}
}

func TestRunLoad_GetsOfCrushCheckValueSize(t *testing.T) {
	s := startCrushServer(t)
	c := &cluster{system: "crush", dial: crushDial(s)}
	if err := populate(context.Background(), c, 50, 300); err != nil {
		t.Fatalf("populate: %v", err)
	}
	res, err := runLoad(context.Background(), c.dial, 4, 200*time.Millisecond, getOp(50, 300))
	if err != nil || res.Ops == 0 {
		t.Fatalf("get load: %d ops, err %v; want some ops and no error", res.Ops, err)
	}
	_, err = runLoad(context.Background(), c.dial, 4, 200*time.Millisecond, getOp(50, 256))
	if !errors.Is(err, errShortValue) {
		t.Errorf("get load expecting 256 B values of 300 B: got err %v, want errShortValue", err)
	}
	_, err = runLoad(context.Background(), c.dial, 1, 200*time.Millisecond, getOp(51, 300))
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("get load over a missing key: got err %v, want a 404", err)
	}
}

func TestRunLoad_CountsOnlyAcknowledged(t *testing.T) {
	var acked, calls atomic.Int64
	res, err := runLoad(context.Background(), fakeDial(&acked, &calls, 0, nil), 16, 300*time.Millisecond, putOp(10, 8))
	if err != nil {
		t.Fatalf("run load: %v", err)
	}
	if res.Ops == 0 || res.Ops != acked.Load() {
		t.Errorf("counted %d ops, the clients acknowledged %d", res.Ops, acked.Load())
	}
}

func TestRunLoad_FailsOnError(t *testing.T) {
	var acked, calls atomic.Int64
	start := time.Now()
	res, err := runLoad(context.Background(), fakeDial(&acked, &calls, 50, nil), 8, 10*time.Second, putOp(10, 8))
	if !errors.Is(err, errInjected) {
		t.Fatalf("got err %v, want the injected failure", err)
	}
	if !strings.Contains(err.Error(), "put bench/k") {
		t.Errorf("error %q does not name the operation", err)
	}
	if res.Ops != 0 || res.Throughput() != 0 {
		t.Errorf("a failed run reported %d ops (%.0f/s), want none", res.Ops, res.Throughput())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the run went on for %v after the failure, want it to stop at once", d)
	}
}

func TestRunLoad_StopsWhenCanceled(t *testing.T) {
	var acked, calls atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := runLoad(ctx, fakeDial(&acked, &calls, 0, nil), 4, 10*time.Second, putOp(10, 8))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got err %v, want the context's error", err)
	}
}

func TestRunLoad_DialFailure(t *testing.T) {
	dial := func(i int) (client, error) {
		if i == 2 {
			return nil, errInjected
		}
		var acked, calls atomic.Int64
		return &fakeClient{acked: &acked, calls: &calls}, nil
	}
	if _, err := runLoad(context.Background(), dial, 4, time.Second, putOp(10, 8)); !errors.Is(err, errInjected) {
		t.Errorf("got err %v, want the dial failure", err)
	}
}

func TestRandomValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{1, 7, 8, 256, 4096} {
		a, b := randomValue(rng, size), randomValue(rng, size)
		if len(a) != size || len(b) != size {
			t.Errorf("randomValue(%d): got %d and %d bytes", size, len(a), len(b))
		}
		if size >= 8 && bytes.Equal(a, b) {
			t.Errorf("randomValue(%d) returned the same bytes twice", size)
		}
	}
}
