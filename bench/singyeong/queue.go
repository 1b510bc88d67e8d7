package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	singyeong "github.com/mahou-go/mahou/client/singyeong"
)

// runQueue measures the durable queues: first producers alone (confirmed enqueues per second:
// each QUEUE_CONFIRM means the message is on disk), then producers and consumers together
// (messages delivered and acknowledged per second, one message per QUEUE_REQUEST).
func runQueue(ctx context.Context, cfg config) error {
	enc := singyeong.Encoding(cfg.encoding)
	fmt.Printf("machine: %d cpus; queue mode: %d producers x %d in flight, %d consumers, encoding %s, payload %d B\n",
		runtime.NumCPU(), cfg.producers, cfg.pipeline, cfg.consumers, cfg.encoding, cfg.payload)
	producers, err := dialMany(ctx, cfg, enc, "bench-producer", cfg.producers)
	defer closeAll(producers)
	if err != nil {
		return err
	}
	pad := strings.Repeat("x", cfg.payload)
	target := map[string]any{"application": "bench-consumer"}
	// Phase 1: enqueue only, into a queue nobody consumes.
	n, elapsed, err := produceFor(ctx, cfg, producers, "bench-enqueue", target, pad)
	if err != nil {
		return err
	}
	fmt.Printf("durable enqueue: %d confirmed in %.1fs = %.0f msgs/s\n", n, elapsed.Seconds(), float64(n)/elapsed.Seconds())
	// Phase 2: end to end.
	consumers, err := dialMany(ctx, cfg, enc, "bench-consumer", cfg.consumers)
	defer closeAll(consumers)
	if err != nil {
		return err
	}
	var acked atomic.Int64
	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, c := range consumers {
		wg.Add(1)
		go func() { defer wg.Done(); consumeLoop(cctx, c, "bench-e2e", &acked) }()
	}
	start := time.Now()
	n, elapsed, err = produceFor(ctx, cfg, producers, "bench-e2e", target, pad)
	if err == nil {
		err = waitAcked(&acked, n)
	}
	total := time.Since(start)
	cancel()
	wg.Wait()
	if err != nil {
		return err
	}
	fmt.Printf("end to end: %d enqueued in %.1fs (%.0f msgs/s); %d delivered and acked = %.0f msgs/s\n",
		n, elapsed.Seconds(), float64(n)/elapsed.Seconds(), acked.Load(), float64(acked.Load())/total.Seconds())
	return nil
}

func dialMany(ctx context.Context, cfg config, enc singyeong.Encoding, app string, n int) ([]*singyeong.Client, error) {
	var out []*singyeong.Client
	for i := range n {
		c, err := singyeong.Dial(ctx, singyeong.Options{URL: cfg.server, AppID: app, ClientID: app + "-" + strconv.Itoa(i),
			Encoding: enc, Buffer: 64})
		if err != nil {
			return out, fmt.Errorf("connect %s %d: %w", app, i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// produceFor enqueues from every producer, pipeline frames at a time each, for cfg.duration,
// and returns how many were confirmed.
func produceFor(ctx context.Context, cfg config, producers []*singyeong.Client, queue string, target any, pad string) (int64, time.Duration, error) {
	var confirmed atomic.Int64
	start := time.Now()
	deadline := start.Add(cfg.duration)
	errs := make(chan error, len(producers)*cfg.pipeline)
	var wg sync.WaitGroup
	for _, p := range producers {
		for range cfg.pipeline {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) && ctx.Err() == nil {
					if err := p.Queue(ctx, queue, target, pad, nil); err != nil {
						errs <- err
						return
					}
					confirmed.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	return confirmed.Load(), time.Since(start), <-errs
}

// consumeLoop requests, receives and acknowledges messages until ctx ends.
func consumeLoop(ctx context.Context, c *singyeong.Client, queue string, acked *atomic.Int64) {
	for ctx.Err() == nil {
		if c.QueueRequest(ctx, queue) != nil {
			return
		}
		select {
		case f, ok := <-c.Frames():
			if !ok {
				return
			}
			if m, ok := f.QueueMessage(); ok {
				if c.Ack(ctx, queue, m.ID) != nil {
					return
				}
				acked.Add(1)
			}
		case <-ctx.Done():
			return
		}
	}
}

// waitAcked waits until n messages were acknowledged, or reports them lost.
func waitAcked(acked *atomic.Int64, n int64) error {
	deadline := time.Now().Add(30 * time.Second)
	for acked.Load() < n {
		if time.Now().After(deadline) {
			return errors.New("messages confirmed but not delivered within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
