package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"time"
)

// ttValueSize is the size of the time-travel document.
const ttValueSize = 4096

// ttKey is the time-travel document's key.
const ttKey = "bench/doc"

// ttSample is what one time-travel run of one system measured.
type ttSample struct {
	read latencies
	// perRev is the growth of the data directory while the edits were written, divided by the
	// number of edits.
	perRev       struct{ stateInUse, stateFile, logFile, total float64 }
	writesPerSec float64
}

// ttResults collects the time-travel runs by system.
type ttResults struct {
	revs, reads int
	runs        map[string][]ttSample
}

// runTimeTravel runs the time-travel workload rounds times on each system, alternating.
func runTimeTravel(ctx context.Context, e *env, opts *options) (*ttResults, error) {
	res := &ttResults{revs: opts.revs, reads: opts.reads, runs: map[string][]ttSample{}}
	for round := range opts.rounds {
		for _, sys := range opts.systems {
			s, err := timeTravelOnce(ctx, e, opts, sys)
			if err != nil {
				return res, fmt.Errorf("time travel on %s, round %d: %w", sys, round+1, err)
			}
			res.runs[sys] = append(res.runs[sys], s)
			fmt.Fprintf(opts.log, "%-5s time travel round %d: read at a random rev of %d p50 %s p99 %s; state store %.0f B/rev in use (%.0f B/rev file), log %.0f B/rev, whole dir %.0f B/rev; %0.f writes/s\n",
				sys, round+1, opts.revs, fmtDur(s.read.P50), fmtDur(s.read.P99), s.perRev.stateInUse, s.perRev.stateFile,
				s.perRev.logFile, s.perRev.total, s.writesPerSec)
		}
	}
	return res, nil
}

// timeTravelOnce starts a fresh single node, writes a 4 KiB value and then revs-1 edits of one
// byte each, reads random revs back (checking every byte), and measures the data directory
// before and after the edits with the node stopped.
func timeTravelOnce(ctx context.Context, e *env, opts *options, system string) (s ttSample, err error) {
	c, err := e.startSystem(ctx, opts, system, 1)
	if err != nil {
		return s, err
	}
	defer func() {
		e.stop(c)
		removeData(c)
	}()
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	value := randomValue(rng, ttValueSize)
	doc := &ttDoc{}
	if err := doc.write(ctx, c, [][]byte{value}); err != nil {
		return s, err
	}
	before, err := stopAndMeasure(e, c)
	if err != nil {
		return s, err
	}
	if err := e.restart(ctx, c); err != nil {
		return s, err
	}
	edits := make([][]byte, opts.revs-1)
	for i := range edits {
		value[rng.IntN(len(value))] ^= byte(1 + rng.IntN(255))
		edits[i] = append([]byte(nil), value...)
	}
	t0 := time.Now()
	if err := doc.write(ctx, c, edits); err != nil {
		return s, err
	}
	s.writesPerSec = float64(len(edits)) / time.Since(t0).Seconds()
	if s.read, err = doc.readRandom(ctx, c, rng, opts.reads); err != nil {
		return s, err
	}
	after, err := stopAndMeasure(e, c)
	if err != nil {
		return s, err
	}
	d, n := after.sub(before), float64(len(edits))
	s.perRev.stateInUse, s.perRev.stateFile = float64(d.stateInUse)/n, float64(d.stateFile)/n
	s.perRev.logFile, s.perRev.total = float64(d.logFile)/n, float64(d.total)/n
	return s, nil
}

// stopAndMeasure stops a single-node cluster and measures its data directory.
func stopAndMeasure(e *env, c *cluster) (diskUsage, error) {
	e.stop(c)
	return measureUsage(c.system, c.nodes[0].dataDir)
}

// ttDoc remembers each rev of the document written: the point to read it at and its hash.
type ttDoc struct {
	points []int64
	hashes [][sha256.Size]byte
}

// write writes each value in turn as the next rev, from one connection.
func (d *ttDoc) write(ctx context.Context, c *cluster, values [][]byte) error {
	cl, err := c.dial(0)
	if err != nil {
		return err
	}
	defer cl.Close()
	for _, v := range values {
		p, err := cl.Put(ctx, ttKey, v)
		if err != nil {
			return fmt.Errorf("put rev %d of %s: %w", len(d.points)+1, ttKey, err)
		}
		d.points = append(d.points, p)
		d.hashes = append(d.hashes, sha256.Sum256(v))
	}
	return nil
}

// readRandom reads n random revs from one connection, checks each value, and returns the
// latency percentiles.
func (d *ttDoc) readRandom(ctx context.Context, c *cluster, rng *rand.Rand, n int) (latencies, error) {
	cl, err := c.dial(0)
	if err != nil {
		return latencies{}, err
	}
	defer cl.Close()
	samples := make([]time.Duration, 0, n)
	for range n {
		i := rng.IntN(len(d.points))
		t0 := time.Now()
		v, err := cl.GetAt(ctx, ttKey, d.points[i])
		if err != nil {
			return latencies{}, fmt.Errorf("read rev %d of %s: %w", i+1, ttKey, err)
		}
		samples = append(samples, time.Since(t0))
		if sha256.Sum256(v) != d.hashes[i] {
			return latencies{}, fmt.Errorf("read rev %d of %s: %d bytes that differ from the value written", i+1, ttKey, len(v))
		}
	}
	return summarize(samples), nil
}
