package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The singyeong/NATS comparison belongs to bench/singyeong; `bench all` only starts the servers,
// runs that program against each, alternating (NATS, then singyeong) for --rounds rounds, and
// tabulates the lines it prints.

// busRun is what one run of bench/singyeong printed, parsed.
type busRun struct {
	sends     map[string]sample // by query
	kibPerCon float64           // server RSS per idle client
}

// busResults collects the runs by system ("NATS", "singyeong").
type busResults struct {
	runs    map[string][]busRun
	queries []string
	raw     []string // the programs' outputs, shown when a line could not be parsed
}

// runBus builds singyeong and its load generator, then runs the comparison.
func runBus(ctx context.Context, e *env, opts *options, natsBin string) (*busResults, error) {
	sy, gen := filepath.Join(e.dir, "singyeong"), filepath.Join(e.dir, "singyeong-bench")
	if err := goBuild(ctx, e.root, sy, "./cmd/singyeong"); err != nil {
		return nil, err
	}
	if err := goBuild(ctx, e.root, gen, "./bench/singyeong"); err != nil {
		return nil, err
	}
	res := &busResults{runs: map[string][]busRun{}}
	for round := range opts.rounds {
		for _, sys := range []string{"NATS", "singyeong"} {
			out, err := e.busOnce(ctx, opts, sys, sy, gen, natsBin)
			if err != nil {
				return res, fmt.Errorf("bus %s, round %d: %w", sys, round+1, err)
			}
			fmt.Fprintf(opts.log, "bus %s round %d:\n%s", sys, round+1, out)
			if err := res.add(sys, out); err != nil {
				res.raw = append(res.raw, fmt.Sprintf("%s round %d (%v):\n%s", sys, round+1, err, out))
			}
		}
	}
	return res, nil
}

// busOnce starts one server, runs the load generator against it, and stops the server.
func (e *env) busOnce(ctx context.Context, opts *options, sys, syBin, gen, natsBin string) (string, error) {
	ports, err := freePorts(2)
	if err != nil {
		return "", err
	}
	n, err := e.newNode(strings.ToLower(sys), 0)
	if err != nil {
		return "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	args := []string{gen, "--clients", strconv.Itoa(opts.busClients), "--duration", opts.duration.String()}
	if sys == "NATS" {
		n.argv = []string{natsBin, "-a", "127.0.0.1", "-p", strconv.Itoa(ports[0]), "-m", strconv.Itoa(ports[1])}
		n.readyURL = fmt.Sprintf("http://127.0.0.1:%d/healthz", ports[1])
		args = append(args, "--nats", "nats://"+addr)
	} else {
		n.argv = []string{syBin, "serve", "--addr", addr, "--data-dir", n.dataDir, "--log-level", "warn"}
		n.readyURL = "http://" + addr + "/healthz"
		args = append(args, "--server", "http://"+addr)
	}
	c := &cluster{system: sys, nodes: []*node{n}}
	defer func() {
		e.stop(c)
		removeData(c)
	}()
	if err := e.startNodes(ctx, c.nodes); err != nil {
		return "", err
	}
	args = append(args, "--server-pid", strconv.Itoa(n.proc.cmd.Process.Pid))
	return runCapture(ctx, args)
}

// runCapture runs a program in its own process group (killed whole if ctx ends) and returns
// its standard output; its standard error goes to ours.
func runCapture(ctx context.Context, argv []string) (string, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, io.Writer(os.Stderr)
	setGroup(cmd)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("run %s: %w\n%s", filepath.Base(argv[0]), err, out.String())
	}
	return out.String(), nil
}

var (
	busSendLine = regexp.MustCompile(`^(?:nats )?(\S+)\s+SEND: .* = (\d+) msgs/s; latency p50 (\S+) p99 (\S+)`)
	busMemLine  = regexp.MustCompile(`^idle memory: server RSS .* = ([0-9.]+) KiB per client`)
)

// add parses one output of bench/singyeong.
func (r *busResults) add(sys, out string) error {
	run := busRun{sends: map[string]sample{}, kibPerCon: -1}
	for _, line := range strings.Split(out, "\n") {
		if m := busMemLine.FindStringSubmatch(line); m != nil {
			run.kibPerCon, _ = strconv.ParseFloat(m[1], 64)
		}
		m := busSendLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ops, _ := strconv.ParseFloat(m[2], 64)
		p50, err1 := time.ParseDuration(m[3])
		p99, err2 := time.ParseDuration(m[4])
		if err1 != nil || err2 != nil {
			return fmt.Errorf("parse latency in %q", line)
		}
		run.sends[m[1]] = sample{opsPerSec: ops, lat: latencies{P50: p50, P99: p99}}
		if !slices.Contains(r.queries, m[1]) {
			r.queries = append(r.queries, m[1])
		}
	}
	if len(run.sends) == 0 {
		return fmt.Errorf("parse output: no SEND line")
	}
	r.runs[sys] = append(r.runs[sys], run)
	return nil
}

// markdown renders the medians of the runs as a table, with any output that did not parse.
func (r *busResults) markdown(opts *options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Bus (bench/singyeong, run by `bench all`): %d receivers, 256 B payloads, its default senders and window; "+
		"singyeong SEND routed by a query vs NATS queue groups; medians of %d rounds of %v per query, NATS and singyeong alternating. "+
		"singyeong/NATS > 1.0 means singyeong is faster.\n\n", opts.busClients, opts.rounds, opts.duration)
	b.WriteString("| query | NATS msgs/s | singyeong msgs/s | singyeong/NATS | NATS p50 / p99 | singyeong p50 / p99 |\n|---|---|---|---|---|---|\n")
	for _, q := range r.queries {
		n, nok := medianSample(r.sendsOf("NATS", q))
		s, sok := medianSample(r.sendsOf("singyeong", q))
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", q, sampleOps(n, nok, ""), sampleOps(s, sok, ""),
			ratio(s.opsPerSec, n.opsPerSec, nok && sok), sampleLat(n, nok), sampleLat(s, sok))
	}
	fmt.Fprintf(&b, "\nServer memory per idle client (RSS delta / receivers): NATS %s, singyeong %s.\n", r.memOf("NATS"), r.memOf("singyeong"))
	for _, raw := range r.raw {
		fmt.Fprintf(&b, "\nOutput not tabulated:\n\n```\n%s```\n", raw)
	}
	return b.String()
}

func (r *busResults) sendsOf(sys, query string) []sample {
	var out []sample
	for _, run := range r.runs[sys] {
		if s, ok := run.sends[query]; ok {
			out = append(out, s)
		}
	}
	return out
}

func (r *busResults) memOf(sys string) string {
	var xs []float64
	for _, run := range r.runs[sys] {
		if run.kibPerCon >= 0 {
			xs = append(xs, run.kibPerCon)
		}
	}
	if len(xs) == 0 {
		return "not measured"
	}
	return fmt.Sprintf("%.1f KiB", median(xs))
}
