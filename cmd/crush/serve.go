package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/kv/kvhttp"
	"github.com/mahou-go/mahou/kv/raftnode"
	"github.com/mahou-go/mahou/kv/server"
)

// serveFlags are the flags of `crush serve`; each falls back to a CRUSH_* environment variable.
type serveFlags struct {
	cfg      server.Config
	peers    string
	join     []string
	logLevel string
	logJSON  bool
}

func newServeCmd() *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a crush node (a single node with a local data directory by default)",
		Long: `Run a crush node.

With no flags, crush serve runs a complete single node: the HTTP API on 127.0.0.1:7654 and its
data in ./crush-data. Every flag can also be set with an environment variable: --addr with
CRUSH_ADDR, --data-dir with CRUSH_DATA_DIR, and so on (flags win).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd, "CRUSH_"); err != nil {
				return err
			}
			return f.run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.cfg.Addr, "addr", server.DefaultAddr, "HTTP API address (host:port)")
	fl.StringVar(&f.cfg.DataDir, "data-dir", server.DefaultDataDir, "directory for the data, the raft log and snapshots")
	fl.StringVar(&f.cfg.NodeID, "node-id", "", "stable node id (default: the one saved in the data directory, or a new one)")
	fl.StringVar(&f.cfg.RaftAddr, "raft-addr", server.DefaultRaftAddr, "raft transport address (host:port)")
	fl.StringVar(&f.cfg.AdvertiseRaftAddr, "advertise-raft-addr", "", "raft address peers dial (default: --raft-addr)")
	fl.StringVar(&f.cfg.AdvertiseAddr, "advertise-addr", "", "API address other nodes reach this node at (default: --addr)")
	fl.StringVar(&f.peers, "peers", "", "bootstrap a new cluster: every voter as id=raft-host:port, comma-separated, this node included")
	fl.StringSliceVar(&f.join, "join", nil, "join an existing cluster through the API address of any member (host:port, repeatable)")
	fl.StringVar(&f.cfg.PeerSecret, "peer-secret", "", "shared secret that authenticates peers (raft and internal requests); same on every node")
	fl.StringVar(&f.cfg.TLS.CertFile, "cert-file", "", "TLS certificate (PEM) for the API and raft")
	fl.StringVar(&f.cfg.TLS.KeyFile, "key-file", "", "TLS private key (PEM)")
	fl.StringVar(&f.cfg.TLS.CAFile, "trusted-ca-file", "", "CA (PEM) that signs peer certificates (and client certificates with --client-cert-auth)")
	fl.BoolVar(&f.cfg.TLS.ClientCertAuth, "client-cert-auth", false, "require API clients to present a certificate signed by --trusted-ca-file")
	fl.IntVar(&f.cfg.Limits.MaxValueBytes, "max-value-bytes", 0, "largest value accepted (default 1.5 MiB)")
	fl.IntVar(&f.cfg.Limits.MaxKeyBytes, "max-key-bytes", 0, "longest key accepted (default 4096)")
	fl.Int64Var(&f.cfg.MaxBodyBytes, "max-body-bytes", 0, "largest JSON request body (default 4 MiB)")
	fl.IntVar(&f.cfg.MaxConnections, "max-connections", server.DefaultMaxConnections, "most open API connections (watches included); more wait to be accepted")
	fl.DurationVar(&f.cfg.WatchProgressInterval, "watch-progress-interval", kvhttp.DefaultWatchProgressInterval, "how often an idle watch gets a progress event")
	fl.DurationVar(&f.cfg.Raft.HeartbeatTimeout, "heartbeat-timeout", raftnode.DefaultHeartbeatTimeout, "raft heartbeat timeout (lower for faster failover on a fast network)")
	fl.DurationVar(&f.cfg.Raft.ElectionTimeout, "election-timeout", raftnode.DefaultElectionTimeout, "raft election timeout")
	fl.DurationVar(&f.cfg.Raft.Store.CommitInterval, "backend-commit-interval", raftnode.DefaultCommitInterval,
		"longest time applied writes share one state machine commit (negative: commit every raft batch)")
	fl.Uint64Var(&f.cfg.Raft.SnapshotThreshold, "snapshot-threshold", raftnode.DefaultSnapshotThreshold,
		"raft log entries since the last snapshot that make the next check take one (like etcd's --snapshot-count)")
	fl.DurationVar(&f.cfg.Raft.SnapshotInterval, "snapshot-interval", raftnode.DefaultSnapshotInterval,
		"how often raft checks --snapshot-threshold")
	fl.Uint64Var(&f.cfg.Raft.TrailingLogs, "trailing-logs", raftnode.DefaultTrailingLogs,
		"raft log entries kept after a snapshot, so that a lagging follower catches up without one")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fl.BoolVar(&f.logJSON, "log-json", false, "log JSON lines instead of text")
	return cmd
}

// defaultGCPercent is the Go GC target of a node when GOGC is not set: its live heap is small
// (the data lives in bbolt's memory map), so collecting less often costs little memory and
// removes most collection pauses from request latency.
const defaultGCPercent = 400

func (f *serveFlags) run(ctx context.Context) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", f.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	var handler slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if f.logJSON {
		handler = slog.NewJSONHandler(os.Stderr, opts)
	}
	cfg := f.cfg
	peers, err := server.ParsePeers(f.peers)
	if err != nil {
		return fmt.Errorf("--peers: %w", err)
	}
	cfg.Peers, cfg.Join = peers, f.join
	if cfg.Raft.LeaderLeaseTimeout == 0 {
		cfg.Raft.LeaderLeaseTimeout = min(raftnode.DefaultLeaderLeaseTimeout, cfg.Raft.HeartbeatTimeout)
	}
	cfg.Logger = slog.New(handler)
	cfg.Version = version
	s, err := server.New(cfg)
	if err != nil {
		return err
	}
	if err := s.Open(); err != nil {
		return err
	}
	<-ctx.Done()
	cfg.Logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Close(sctx)
}
