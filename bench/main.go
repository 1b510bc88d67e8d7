package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const usage = `usage: go run ./bench kv|timetravel|all [flags]

  kv          durable puts and gets, crush vs etcd
  timetravel  read a random old rev, bytes stored per rev, crush vs etcd
  all         kv, timetravel, then the singyeong/NATS comparison of bench/singyeong

Run go run ./bench kv -h for the flags.`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run runs one subcommand; the report goes to stdout, progress to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "kv" && args[0] != "timetravel" && args[0] != "all") {
		return errors.New(usage)
	}
	name := args[0]
	opts, err := parseOptions(name, args[1:], stderr)
	if err != nil {
		return err
	}
	opts.log = stderr
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	e, err := newEnv(root)
	if err != nil {
		return err
	}
	defer e.close()
	rep := &report{command: "go run ./bench " + strings.Join(args, " "), started: time.Now(),
		rounds: opts.rounds, duration: opts.duration, versions: map[string]string{}}
	runErr := runSubcommand(ctx, e, name, opts, rep)
	rep.machine.loadEnd = loadAvg()
	var buf strings.Builder
	rep.write(&buf)
	fmt.Fprint(stdout, buf.String())
	if opts.out != "" {
		if err := os.WriteFile(opts.out, []byte(buf.String()), 0o644); err != nil {
			return errors.Join(runErr, fmt.Errorf("write %s: %w", opts.out, err))
		}
	}
	return runErr
}

// runSubcommand prepares the peers and crush, then runs the workloads of name into rep.
func runSubcommand(ctx context.Context, e *env, name string, opts *options, rep *report) error {
	natsBin, err := preparePeers(ctx, e, name, opts, rep)
	if err != nil {
		return err
	}
	if rep.machine, err = readMachine(e.dir); err != nil {
		return err
	}
	if name != "timetravel" {
		rep.kv = newKVResults()
		if err := runKV(ctx, e, opts, rep.kv); err != nil {
			return err
		}
	}
	if name != "kv" {
		if rep.tt, err = runTimeTravel(ctx, e, opts); err != nil {
			return err
		}
	}
	if name == "all" {
		bus, err := runBus(ctx, e, opts, natsBin)
		if bus != nil {
			rep.bus = bus.markdown(opts)
		}
		return err
	}
	return nil
}

// preparePeers installs the peers the subcommand needs and builds crush; it returns the path
// of nats-server when the subcommand needs it.
func preparePeers(ctx context.Context, e *env, name string, opts *options, rep *report) (string, error) {
	var need []peer
	if opts.hasSystem("etcd") {
		need = append(need, peerEtcd)
	}
	if name == "all" {
		need = append(need, peerNATS)
	}
	paths, err := ensurePeers(ctx, opts.log, need...)
	if err != nil {
		return "", err
	}
	opts.etcdBin = paths["etcd"]
	if opts.etcdBin != "" {
		rep.versions["etcd"] = firstLine(opts.etcdBin, "--version")
	}
	if opts.hasSystem("crush") {
		if err := e.buildCrush(ctx); err != nil {
			return "", err
		}
		rep.versions["crush"] = "built from this tree at " + firstLine("git", "-C", e.root, "describe", "--always", "--dirty")
	}
	return paths["nats-server"], nil
}

// firstLine returns the first line a command prints, or "unknown".
func firstLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}
