package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// peer is a program the benchmark compares against and the Debian package that has it.
type peer struct {
	bin, pkg string
}

var (
	peerEtcd = peer{bin: "etcd", pkg: "etcd-server"}
	peerNATS = peer{bin: "nats-server", pkg: "nats-server"}
)

// errPeerMissing reports a peer that is not installed and cannot be installed by us.
var errPeerMissing = errors.New("peer not installed")

// ensurePeers returns the path of each peer's binary, installing the missing ones with
// apt-get when running as root.
func ensurePeers(ctx context.Context, log io.Writer, peers ...peer) (map[string]string, error) {
	var missing []peer
	for _, p := range peers {
		if _, err := exec.LookPath(p.bin); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		if err := install(ctx, log, missing); err != nil {
			return nil, err
		}
	}
	paths := make(map[string]string, len(peers))
	for _, p := range peers {
		path, err := exec.LookPath(p.bin)
		if err != nil {
			return nil, fmt.Errorf("%w: %s is still missing after apt-get install -y %s", errPeerMissing, p.bin, p.pkg)
		}
		paths[p.bin] = path
	}
	return paths, nil
}

// install installs the missing peers' packages with apt-get, updating the package lists first
// if the first try fails.
func install(ctx context.Context, log io.Writer, missing []peer) error {
	var pkgs []string
	for _, p := range missing {
		pkgs = append(pkgs, p.pkg)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: install them with: sudo apt-get install -y %s", errPeerMissing, strings.Join(pkgs, " "))
	}
	fmt.Fprintf(log, "installing %s with apt-get\n", strings.Join(pkgs, " "))
	args := append([]string{"install", "-y"}, pkgs...)
	if aptGet(ctx, log, args...) == nil {
		return nil
	}
	if err := aptGet(ctx, log, "update"); err != nil {
		return fmt.Errorf("apt-get update: %w", err)
	}
	if err := aptGet(ctx, log, args...); err != nil {
		return fmt.Errorf("%w: apt-get install -y %s: %w", errPeerMissing, strings.Join(pkgs, " "), err)
	}
	return nil
}

func aptGet(ctx context.Context, log io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout, cmd.Stderr = log, log
	return cmd.Run()
}
