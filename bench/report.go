package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

// report is everything the markdown output shows.
type report struct {
	command  string
	started  time.Time
	machine  machine
	versions map[string]string // system -> version line
	rounds   int
	duration time.Duration
	kv       *kvResults
	tt       *ttResults
	bus      string // the singyeong/NATS section, already markdown
}

// write prints the report as markdown.
func (r *report) write(w io.Writer) {
	fmt.Fprintf(w, "Command: `%s` (started %s)\n\n", r.command, r.started.UTC().Format(time.RFC3339))
	r.writeMachine(w)
	if r.kv != nil && len(r.kv.cells) > 0 {
		writeKVTable(w, r.kv, r.rounds, r.duration)
	}
	if r.tt != nil && len(r.tt.runs) > 0 {
		writeTTTable(w, r.tt, r.rounds)
	}
	if r.bus != "" {
		fmt.Fprintln(w, r.bus)
	}
}

func (r *report) writeMachine(w io.Writer) {
	m := r.machine
	fmt.Fprintf(w, "Machine: %d CPUs (%s), %.0f GiB RAM, Linux %s; disk: %s.\n", m.cpus, m.cpuModel, m.memGiB, m.kernel, m.disk)
	fmt.Fprintf(w, "fsync: 4 KiB append + fdatasync in the data directory's filesystem, %d samples: p50 %s, p99 %s (at most ~%.0f serial commits/s).\n",
		m.fsyncN, fmtDur(m.fsync.P50), fmtDur(m.fsync.P99), 1/m.fsync.P50.Seconds())
	fmt.Fprintf(w, "Load average (1/5/15 min): %s at the start, %s at the end.\n", m.loadStart, m.loadEnd)
	for _, sys := range []string{"etcd", "crush"} {
		if v := r.versions[sys]; v != "" {
			fmt.Fprintf(w, "%s: %s.\n", sys, v)
		}
	}
	fmt.Fprintln(w)
}

// writeKVTable prints one row per cell: medians of throughput and latency over the rounds.
func writeKVTable(w io.Writer, res *kvResults, rounds int, d time.Duration) {
	fmt.Fprintf(w, "Key-value: closed-loop clients, one connection each, keys picked at random from the key space; "+
		"medians of %d rounds of %v per cell, etcd and crush alternating. crush/etcd > 1.0 means crush is faster. "+
		"Server CPU: CPU seconds per second used by the system's server processes during the cell (all nodes; the machine has %d cores, "+
		"shared with the load generator).\n\n", rounds, d, runtime.NumCPU())
	fmt.Fprintln(w, "| nodes | op | value | clients | etcd ops/s | crush ops/s | crush/etcd | etcd p50 / p99 | crush p50 / p99 | server CPU etcd / crush |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, c := range res.cells {
		e, eok := medianSample(res.runs[c]["etcd"])
		k, kok := medianSample(res.runs[c]["crush"])
		cols := []string{fmt.Sprint(c.nodes), c.op, sizeName(c.size), fmt.Sprint(c.clients),
			sampleOps(e, eok, res.unavailable[c.nodes]["etcd"]), sampleOps(k, kok, res.unavailable[c.nodes]["crush"]),
			ratio(k.opsPerSec, e.opsPerSec, eok && kok), sampleLat(e, eok), sampleLat(k, kok),
			sampleCPU(e, eok) + " / " + sampleCPU(k, kok)}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cols, " | "))
	}
	for n, m := range res.unavailable {
		for sys, why := range m {
			fmt.Fprintf(w, "\n%d-node %s: %s\n", n, sys, why)
		}
	}
	fmt.Fprintln(w)
}

// medianSample returns the median throughput and the median p50 and p99 of samples.
func medianSample(ss []sample) (sample, bool) {
	if len(ss) == 0 {
		return sample{}, false
	}
	var ops, cpu []float64
	var p50, p99 []time.Duration
	for _, s := range ss {
		ops = append(ops, s.opsPerSec)
		cpu = append(cpu, s.serverCPU)
		p50 = append(p50, s.lat.P50)
		p99 = append(p99, s.lat.P99)
	}
	return sample{opsPerSec: median(ops), serverCPU: median(cpu),
		lat: latencies{P50: medianDuration(p50), P99: medianDuration(p99)}}, true
}

func sampleOps(s sample, ok bool, unavailable string) string {
	switch {
	case ok:
		return fmt.Sprintf("%.0f", s.opsPerSec)
	case unavailable != "":
		return "not available"
	default:
		return "not run"
	}
}

func sampleCPU(s sample, ok bool) string {
	if !ok || s.serverCPU < 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", s.serverCPU)
}

func sampleLat(s sample, ok bool) string {
	if !ok {
		return "–"
	}
	return fmtDur(s.lat.P50) + " / " + fmtDur(s.lat.P99)
}

// ratio prints a/b as "1.23x", or a dash when either side is missing.
func ratio(a, b float64, ok bool) string {
	if !ok || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// writeTTTable prints the time-travel medians.
func writeTTTable(w io.Writer, res *ttResults, rounds int) {
	e, k := medianTT(res.runs["etcd"]), medianTT(res.runs["crush"])
	fmt.Fprintf(w, "Time travel: one 4 KiB value written %d times, each rev a 1-byte edit of the one before (single node). "+
		"Reads: %d linearizable reads of a random rev from one client, every byte checked (crush `GET /v2/kv/doc?rev=N`, "+
		"etcd `Get(key, WithRev(r))` at the store revision of that write). Bytes per rev: growth of the stopped node's files "+
		"from after the first write to after the last, divided by the %d edits. Medians of %d rounds. "+
		"In the last column > 1.0 means crush is better (etcd/crush for times and bytes).\n\n", res.revs, res.reads, res.revs-1, rounds)
	fmt.Fprintln(w, "| measure | etcd | crush | crush vs etcd | goal |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	rows := []struct {
		name, goal string
		e, k       float64
		unit       string
	}{
		{"read a random rev: p50", "", e.p50, k.p50, "dur"},
		{"read a random rev: p99", "≤ 1 ms", e.p99, k.p99, "dur"},
		{"bytes/rev, state store pages in use (crush state.db; etcd member/snap/db)", "≤ 200 B", e.stateInUse, k.stateInUse, "B"},
		{"bytes/rev, state store file size", "", e.stateFile, k.stateFile, "B"},
		{"bytes/rev, log files (crush raft/raft.db; etcd member/wal)", "", e.logFile, k.logFile, "B"},
		{"bytes/rev, whole data directory", "", e.total, k.total, "B"},
		{"sequential durable writes/s while writing the revs", "", e.writes, k.writes, "ops"},
	}
	for _, r := range rows {
		// a zero (etcd's preallocated WAL did not grow) has no meaningful ratio
		better := ratio(r.e, r.k, e.ok && k.ok && r.k > 0 && r.e > 0)
		if r.unit == "ops" {
			better = ratio(r.k, r.e, e.ok && k.ok)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.name, ttValue(r.e, r.unit, e.ok), ttValue(r.k, r.unit, k.ok), better, r.goal)
	}
	fmt.Fprintln(w)
}

// ttMedians are the medians of a system's time-travel runs.
type ttMedians struct {
	ok                                    bool
	p50, p99                              float64 // nanoseconds
	stateInUse, stateFile, logFile, total float64
	writes                                float64
}

func medianTT(ss []ttSample) ttMedians {
	if len(ss) == 0 {
		return ttMedians{}
	}
	pick := func(f func(ttSample) float64) float64 {
		xs := make([]float64, len(ss))
		for i, s := range ss {
			xs[i] = f(s)
		}
		return median(xs)
	}
	return ttMedians{ok: true,
		p50:        pick(func(s ttSample) float64 { return float64(s.read.P50) }),
		p99:        pick(func(s ttSample) float64 { return float64(s.read.P99) }),
		stateInUse: pick(func(s ttSample) float64 { return s.perRev.stateInUse }),
		stateFile:  pick(func(s ttSample) float64 { return s.perRev.stateFile }),
		logFile:    pick(func(s ttSample) float64 { return s.perRev.logFile }),
		total:      pick(func(s ttSample) float64 { return s.perRev.total }),
		writes:     pick(func(s ttSample) float64 { return s.writesPerSec }),
	}
}

func ttValue(v float64, unit string, ok bool) string {
	switch {
	case !ok:
		return "not run"
	case unit == "dur":
		return fmtDur(time.Duration(v))
	case unit == "B":
		return fmt.Sprintf("%.0f B", v)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}
