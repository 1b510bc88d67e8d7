package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// populateClients is how many clients write the key space before the get and put cells.
const populateClients = 64

// cell is one row of the key-value table.
type cell struct {
	nodes   int
	op      string // "get" or "put"
	size    int
	clients int
}

func (c cell) String() string {
	return fmt.Sprintf("%d-node %s %s %d clients", c.nodes, c.op, sizeName(c.size), c.clients)
}

// sample is what one run of one cell measured.
type sample struct {
	opsPerSec float64
	lat       latencies
	// serverCPU is the CPU the system's server processes used during the run, in cores
	// (CPU seconds per second); -1 when not measured.
	serverCPU float64
}

// kvResults collects every run, by cell and system, in the order the cells ran.
type kvResults struct {
	cells []cell
	runs  map[cell]map[string][]sample
	// unavailable names the systems that could not run at a node count, with the reason.
	unavailable map[int]map[string]string
}

func newKVResults() *kvResults {
	return &kvResults{runs: map[cell]map[string][]sample{}, unavailable: map[int]map[string]string{}}
}

func (r *kvResults) add(c cell, system string, s sample) {
	if r.runs[c] == nil {
		r.cells = append(r.cells, c)
		r.runs[c] = map[string][]sample{}
	}
	r.runs[c][system] = append(r.runs[c][system], s)
}

// runKV measures every cell of opts for each node count, the peer and crush alternately.
func runKV(ctx context.Context, e *env, opts *options, res *kvResults) error {
	for _, n := range opts.nodes {
		if err := runKVNodes(ctx, e, opts, n, res); err != nil {
			return err
		}
	}
	return nil
}

// runKVNodes starts every system with n nodes and measures the cells on them.
func runKVNodes(ctx context.Context, e *env, opts *options, n int, res *kvResults) error {
	clusters, err := startSystems(ctx, e, opts, n, res)
	defer func() {
		for _, c := range clusters {
			e.stop(c)
			removeData(c)
		}
	}()
	if err != nil || len(clusters) == 0 {
		return err
	}
	for _, size := range opts.sizes {
		for _, c := range clusters {
			if err := populate(ctx, c, opts.keys, size); err != nil {
				return fmt.Errorf("populate %d-node %s with %s values: %w", n, c.system, sizeName(size), err)
			}
		}
		for _, op := range []string{"get", "put"} {
			for _, clients := range opts.clients {
				if err := runCell(ctx, opts, clusters, cell{nodes: n, op: op, size: size, clients: clients}, res); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// startSystems starts each system of opts with n nodes, in opts order (peer first). A system
// that is not available at this node count is recorded and skipped.
func startSystems(ctx context.Context, e *env, opts *options, n int, res *kvResults) ([]*cluster, error) {
	var clusters []*cluster
	for _, sys := range opts.systems {
		c, err := e.startSystem(ctx, opts, sys, n)
		if errors.Is(err, errNotAvailable) {
			fmt.Fprintf(opts.log, "%d-node %s: %v\n", n, sys, err)
			if res.unavailable[n] == nil {
				res.unavailable[n] = map[string]string{}
			}
			res.unavailable[n][sys] = err.Error()
			continue
		}
		if err != nil {
			return clusters, err
		}
		clusters = append(clusters, c)
	}
	return clusters, nil
}

// startSystem starts one system under test.
func (e *env) startSystem(ctx context.Context, opts *options, system string, n int) (*cluster, error) {
	switch system {
	case "crush":
		return e.startCrush(ctx, n)
	case "etcd":
		return e.startEtcd(ctx, opts.etcdBin, n)
	}
	return nil, fmt.Errorf("start %s: unknown system", system)
}

// runCell runs one cell rounds times on every cluster, alternating between them.
func runCell(ctx context.Context, opts *options, clusters []*cluster, c cell, res *kvResults) error {
	op := getOp(opts.keys, c.size)
	if c.op == "put" {
		op = putOp(opts.keys, c.size)
	}
	for round := range opts.rounds {
		for _, cl := range clusters {
			cpu0 := cl.cpuTime()
			r, err := runLoad(ctx, cl.dial, c.clients, opts.duration, op)
			if err != nil {
				return fmt.Errorf("%s %s, round %d: %w", cl.system, c, round+1, err)
			}
			s := sample{opsPerSec: r.Throughput(), lat: summarize(r.Latency),
				serverCPU: (cl.cpuTime() - cpu0).Seconds() / r.Elapsed.Seconds()}
			res.add(c, cl.system, s)
			fmt.Fprintf(opts.log, "%-5s %-32s round %d: %8.0f ops/s  p50 %-9s p99 %-9s server CPU %.2f cores\n",
				cl.system, c, round+1, s.opsPerSec, fmtDur(s.lat.P50), fmtDur(s.lat.P99), s.serverCPU)
		}
	}
	return nil
}

// populate writes every key of the key space once with a random value of size bytes, from
// populateClients clients.
func populate(ctx context.Context, c *cluster, keys, size int) error {
	clients, err := dialAll(c.dial, populateClients)
	defer closeAll(clients)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for i, cl := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for k := i; k < keys && ctx.Err() == nil; k += len(clients) {
				if _, err := cl.Put(ctx, keyName(k), randomValue(rng, size)); err != nil {
					cancel(fmt.Errorf("put %s: %w", keyName(k), err))
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// sizeName prints a value size as 256 B or 4 KiB.
func sizeName(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// fmtDur prints a latency in ms or µs with about three significant digits.
func fmtDur(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	case ms >= 1:
		return fmt.Sprintf("%.2f ms", ms)
	default:
		return fmt.Sprintf("%.0f µs", ms*1000)
	}
}
