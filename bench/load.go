package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// client is one connection to a system under test, used by one goroutine at a time. Every
// method returns only after the system acknowledged the operation; any failure is an error.
type client interface {
	// Put writes value to key and returns the point that names this write for GetAt: the
	// key's rev for crush, the store revision for etcd.
	Put(ctx context.Context, key string, value []byte) (int64, error)
	// Get reads key's current value (a linearizable read); a missing key is an error.
	Get(ctx context.Context, key string) ([]byte, error)
	// GetAt reads key's value as of a point returned by Put (linearizable).
	GetAt(ctx context.Context, key string, point int64) ([]byte, error)
	// Close closes the connection.
	Close() error
}

// dialFunc opens client number i (systems with several nodes spread clients over them).
type dialFunc func(i int) (client, error)

// opFunc performs one operation with c; rng is the calling goroutine's own.
type opFunc func(ctx context.Context, c client, rng *rand.Rand) error

// loadResult is what one closed-loop run measured.
type loadResult struct {
	// Ops counts acknowledged operations only.
	Ops int64
	// Elapsed runs from the common start to the moment the last client finished its last
	// operation, so operations in flight at the deadline are inside it.
	Elapsed time.Duration
	// Latency has one sample per acknowledged operation, sorted.
	Latency []time.Duration
}

// Throughput is acknowledged operations per second.
func (r loadResult) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

// runLoad dials n clients, starts them together, and has each run op in a closed loop until
// d has passed. The first error of any client stops every client and is returned, with the
// client that saw it; canceling ctx does the same.
func runLoad(ctx context.Context, dial dialFunc, n int, d time.Duration, op opFunc) (loadResult, error) {
	clients, err := dialAll(dial, n)
	defer closeAll(clients)
	if err != nil {
		return loadResult{}, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type outcome struct {
		ops int64
		lat []time.Duration
	}
	outs := make([]outcome, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			deadline := time.Now().Add(d)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				if err := op(ctx, clients[i], rng); err != nil {
					cancel(fmt.Errorf("client %d: %w", i, err))
					return
				}
				outs[i].lat = append(outs[i].lat, time.Since(t0))
				outs[i].ops++
			}
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	res := loadResult{Elapsed: time.Since(t0)}
	if err := context.Cause(ctx); err != nil {
		return res, err
	}
	for _, o := range outs {
		res.Ops += o.ops
		res.Latency = append(res.Latency, o.lat...)
	}
	summarize(res.Latency)
	return res, nil
}

// dialAll opens n clients; on error it returns the ones it opened, for the caller to close.
func dialAll(dial dialFunc, n int) ([]client, error) {
	clients := make([]client, 0, n)
	for i := range n {
		c, err := dial(i)
		if err != nil {
			return clients, fmt.Errorf("dial client %d: %w", i, err)
		}
		clients = append(clients, c)
	}
	return clients, nil
}

func closeAll(clients []client) {
	for _, c := range clients {
		_ = c.Close()
	}
}

// errShortValue reports a read that returned a value of the wrong size.
var errShortValue = errors.New("value has the wrong size")

// getOp reads a random key of the key space and checks the value's size.
func getOp(keys, size int) opFunc {
	return func(ctx context.Context, c client, rng *rand.Rand) error {
		key := keyName(rng.IntN(keys))
		v, err := c.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("get %s: %w", key, err)
		}
		if len(v) != size {
			return fmt.Errorf("get %s: %w: got %d bytes, want %d", key, errShortValue, len(v), size)
		}
		return nil
	}
}

// putOp writes a fresh random value of size bytes to a random key of the key space, so
// neither system can store it as a small change of the previous value.
func putOp(keys, size int) opFunc {
	return func(ctx context.Context, c client, rng *rand.Rand) error {
		key := keyName(rng.IntN(keys))
		if _, err := c.Put(ctx, key, randomValue(rng, size)); err != nil {
			return fmt.Errorf("put %s: %w", key, err)
		}
		return nil
	}
}

// keyName is the name of key i of the benchmark's key space.
func keyName(i int) string { return fmt.Sprintf("bench/k%05d", i) }

// randomValue returns size random bytes.
func randomValue(rng *rand.Rand, size int) []byte {
	b := make([]byte, size+8)
	for i := 0; i < size; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b[:size]
}
