package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of the flags.
const (
	DefaultDuration   = 10 * time.Second
	DefaultClients    = "1,16,64,256"
	DefaultValueSizes = "256,4096"
	DefaultNodes      = "1,3"
	DefaultRounds     = 3
	DefaultSystems    = "crush,etcd"
	DefaultKeys       = 10_000
	DefaultRevs       = 10_000
	DefaultReads      = 10_000
	DefaultBusClients = 1000
)

// options are the flags shared by every subcommand.
type options struct {
	duration   time.Duration
	clients    []int
	sizes      []int
	nodes      []int
	rounds     int
	systems    []string // the peer first: A B A B
	out        string
	keys       int
	revs       int
	reads      int
	busClients int

	etcdBin string    // found or installed by ensurePeers
	log     io.Writer // progress lines
}

// parseOptions parses args (after the subcommand) into options and validates them.
func parseOptions(name string, args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("bench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	var clients, sizes, nodes, systems string
	fs.DurationVar(&o.duration, "duration", DefaultDuration, "measured time of each cell, per system and round")
	fs.StringVar(&clients, "clients", DefaultClients, "concurrent closed-loop clients, comma-separated")
	fs.StringVar(&sizes, "value-sizes", DefaultValueSizes, "value sizes in bytes (256, 4096 or 4KiB), comma-separated")
	fs.StringVar(&nodes, "nodes", DefaultNodes, "cluster sizes, comma-separated (1 and/or 3)")
	fs.IntVar(&o.rounds, "rounds", DefaultRounds, "runs of each cell per system, alternating peer and crush; the table shows medians")
	fs.StringVar(&systems, "systems", DefaultSystems, "systems to run (crush, etcd), comma-separated; the peer always runs first")
	fs.StringVar(&o.out, "out", "", "also write the markdown report to this file")
	fs.IntVar(&o.keys, "keys", DefaultKeys, "size of the key space (populated before the cells)")
	fs.IntVar(&o.revs, "revs", DefaultRevs, "time travel: revs of the 4 KiB value (1-byte edits)")
	fs.IntVar(&o.reads, "reads", DefaultReads, "time travel: reads at a random rev, per system and round")
	fs.IntVar(&o.busClients, "bus-clients", DefaultBusClients, "all: receivers of the singyeong/NATS comparison")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("parse flags: unexpected argument %q", fs.Arg(0))
	}
	var errs []error
	var err error
	if o.clients, err = parseInts(clients, strconv.Atoi); err != nil {
		errs = append(errs, fmt.Errorf("--clients: %w", err))
	}
	if o.sizes, err = parseInts(sizes, parseSize); err != nil {
		errs = append(errs, fmt.Errorf("--value-sizes: %w", err))
	}
	if o.nodes, err = parseInts(nodes, strconv.Atoi); err != nil {
		errs = append(errs, fmt.Errorf("--nodes: %w", err))
	}
	o.systems = orderSystems(splitList(systems))
	if err := errors.Join(append(errs, o.validate())...); err != nil {
		return nil, fmt.Errorf("parse flags: %w", err)
	}
	return o, nil
}

// validate names every broken rule.
func (o *options) validate() error {
	var errs []error
	if o.duration <= 0 {
		errs = append(errs, errors.New("--duration must be positive"))
	}
	if o.rounds < 1 {
		errs = append(errs, errors.New("--rounds must be at least 1"))
	}
	for _, n := range o.nodes {
		if n != 1 && n != 3 {
			errs = append(errs, fmt.Errorf("--nodes %d: use 1 or 3", n))
		}
	}
	for _, s := range o.systems {
		if s != "crush" && s != "etcd" {
			errs = append(errs, fmt.Errorf("--systems %q: use crush and/or etcd", s))
		}
	}
	if len(o.systems) == 0 {
		errs = append(errs, errors.New("--systems is empty"))
	}
	for _, n := range slices.Concat(o.clients, o.sizes) {
		if n < 1 {
			errs = append(errs, fmt.Errorf("--clients and --value-sizes must be positive, got %d", n))
		}
	}
	if o.keys < 1 || o.revs < 2 || o.reads < 1 || o.busClients < 1 {
		errs = append(errs, errors.New("--keys, --reads and --bus-clients must be positive, --revs at least 2"))
	}
	return errors.Join(errs...)
}

// hasSystem reports whether the run includes system.
func (o *options) hasSystem(system string) bool { return slices.Contains(o.systems, system) }

// orderSystems puts etcd (the peer) before crush, so each round runs A B.
func orderSystems(systems []string) []string {
	slices.SortStableFunc(systems, func(a, b string) int {
		rank := func(s string) int {
			if s == "etcd" {
				return 0
			}
			return 1
		}
		return rank(a) - rank(b)
	})
	return slices.Compact(systems)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseInts(s string, parse func(string) (int, error)) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := parse(f)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", f, err)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

// parseSize parses a byte count: 256, 256B, 4KiB, 4k.
func parseSize(s string) (int, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1
	for _, suf := range []string{"kib", "kb", "k"} {
		if strings.HasSuffix(t, suf) {
			t, mult = strings.TrimSuffix(t, suf), 1024
			break
		}
	}
	t = strings.TrimSuffix(t, "b")
	n, err := strconv.Atoi(strings.TrimSpace(t))
	if err != nil {
		return 0, fmt.Errorf("parse size: want bytes like 256 or 4KiB")
	}
	return n * mult, nil
}
