package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/cluster"
	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/proxy"
	"github.com/mahou-go/mahou/bus/queue"
	"github.com/mahou-go/mahou/bus/server"
)

// Environment variables of serve. PORT and AUTH are the original server's.
const (
	envAddr    = "SINGYEONG_ADDR"
	envDataDir = "SINGYEONG_DATA_DIR"
	envPort    = "PORT"
	envAuthSrv = "AUTH"
	// envPrefix names the environment variable of each queue and proxy flag: --queue-ack-timeout
	// is SINGYEONG_QUEUE_ACK_TIMEOUT.
	envPrefix = "SINGYEONG_"
)

// shutdownTimeout bounds a graceful stop.
const shutdownTimeout = 10 * time.Second

func newServeCommand(stderr io.Writer) *cobra.Command {
	cfg := server.DefaultConfig()
	var strategy, logLevel, clusterKey string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "run a singyeong server",
		Long: "Run a singyeong server. Precedence: flags, then environment, then defaults.\n" +
			"Environment: " + envAddr + " (or PORT, the original's, meaning :PORT), " + envDataDir +
			", AUTH (the shared password), and SINGYEONG_<FLAG> for every --queue-* and --proxy-* flag\n" +
			"(--queue-ack-timeout is SINGYEONG_QUEUE_ACK_TIMEOUT) and every cluster flag (--join is SINGYEONG_JOIN).\n" +
			clusterHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			envErr := errors.Join(applyServeEnv(cmd, &cfg.Gateway), applyClusterEnv(cmd, &cfg, clusterKey))
			cfg.Gateway.MetadataStrategy = bus.Strategy(strategy)
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				envErr = errors.Join(envErr, fmt.Errorf("--log-level %q: must be debug, info, warn or error", logLevel))
			}
			if envErr != nil { // report every problem at once
				return errors.Join(envErr, cfg.Validate())
			}
			return runServe(cmd.Context(), cfg, stderrLogger(stderr, level))
		},
	}
	gatewayFlags(cmd, &cfg.Gateway, &strategy)
	queueFlags(cmd, &cfg.Queue, &cfg.Proxy)
	clusterFlags(cmd, &cfg.Cluster, &clusterKey)
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return cmd
}

func gatewayFlags(cmd *cobra.Command, g *gateway.Config, strategy *string) {
	f := cmd.Flags()
	f.StringVar(&g.Addr, "addr", gateway.DefaultAddr, "host:port to listen on (env "+envAddr+", or PORT)")
	f.StringVar(&g.DataDir, "data-dir", gateway.DefaultDataDir, "data directory, holds the queue database "+server.QueueFile+" (env "+envDataDir+")")
	f.StringVar(&g.Auth, "auth", "", "shared password; empty means open (env AUTH)")
	f.DurationVar(&g.HeartbeatInterval, "heartbeat-interval", gateway.DefaultHeartbeatInterval, "heartbeat interval sent in hello")
	f.DurationVar(&g.IdleTimeout, "idle-timeout", gateway.DefaultIdleTimeout, "close connections silent for this long")
	f.Int64Var(&g.MaxFrameBytes, "max-frame-bytes", gateway.DefaultMaxFrameBytes, "largest websocket message accepted")
	f.IntVar(&g.MaxConnections, "max-connections", gateway.DefaultMaxConnections, "most websocket connections at once")
	f.IntVar(&g.OutboundFrames, "outbound-frames", gateway.DefaultOutboundFrames, "frames queued per connection before it is a slow consumer")
	f.DurationVar(&g.WriteTimeout, "write-timeout", gateway.DefaultWriteTimeout, "longest websocket write before the client is a slow consumer")
	f.Int64Var(&g.MaxBodyBytes, "max-body-bytes", gateway.DefaultMaxBodyBytes, "largest REST request body (the proxy's included)")
	f.IntVar(&g.AuthFailures, "auth-failures", gateway.DefaultAuthFailures, "wrong passwords allowed per IP per window")
	f.DurationVar(&g.AuthFailureWindow, "auth-failure-window", gateway.DefaultAuthFailureWindow, "window of --auth-failures")
	f.StringVar(strategy, "metadata-strategy", string(gateway.DefaultMetadataStrategy), "UPDATE_METADATA strategy: merge or replace")
	f.StringSliceVar(&g.OriginPatterns, "origin", nil, "browser origins allowed to connect besides the server's own host")
}

// envFlags are the flags that also read SINGYEONG_<NAME> from the environment.
var envFlags = []string{"queue-ack-timeout", "queue-max-deliveries", "queue-max-nack-delay", "queue-max-bytes",
	"proxy-timeout", "proxy-max-response-bytes"}

func queueFlags(cmd *cobra.Command, q *queue.Config, p *proxy.Config) {
	f := cmd.Flags()
	f.DurationVar(&q.AckTimeout, "queue-ack-timeout", queue.DefaultAckTimeout, "time a consumer has to ACK a queue message before it is delivered again")
	f.IntVar(&q.MaxDeliveries, "queue-max-deliveries", queue.DefaultMaxDeliveries, "deliveries of a queue message before it goes to the dead letters")
	f.DurationVar(&q.MaxNackDelay, "queue-max-nack-delay", queue.DefaultMaxNackDelay, "longest delay a QUEUE_NACK may ask for")
	f.Int64Var(&q.MaxBytes, "queue-max-bytes", queue.DefaultMaxBytes, "stored bytes of all queue messages (in memory and on disk) before QUEUE is refused")
	f.DurationVar(&p.Timeout, "proxy-timeout", proxy.DefaultTimeout, "longest proxied request, answer included")
	f.Int64Var(&p.MaxResponseBytes, "proxy-max-response-bytes", proxy.DefaultMaxResponseBytes, "largest answer the proxy passes through")
}

// envName is the environment variable of a flag: queue-ack-timeout is SINGYEONG_QUEUE_ACK_TIMEOUT.
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyServeEnv fills the fields whose flag was not given from the environment.
func applyServeEnv(cmd *cobra.Command, cfg *gateway.Config) error {
	changed := cmd.Flags().Changed
	if !changed("addr") {
		if v := os.Getenv(envAddr); v != "" {
			cfg.Addr = v
		} else if v := os.Getenv(envPort); v != "" {
			cfg.Addr = net.JoinHostPort("", strings.TrimSpace(v))
		}
	}
	if v := os.Getenv(envDataDir); !changed("data-dir") && v != "" {
		cfg.DataDir = v
	}
	if v := os.Getenv(envAuthSrv); !changed("auth") && v != "" {
		cfg.Auth = v
	}
	var errs []error
	for _, name := range envFlags {
		if v, ok := os.LookupEnv(envName(name)); ok && !changed(name) {
			if err := cmd.Flags().Set(name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", envName(name), v, err))
			}
		}
	}
	return errors.Join(errs...)
}

// runServe serves until ctx is cancelled (SIGINT or SIGTERM), then stops gracefully.
func runServe(ctx context.Context, cfg server.Config, log *slog.Logger) error {
	srv, err := server.New(cfg, log)
	if err != nil {
		return err
	}
	if err := srv.Open(); err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("shutting down")
	stopCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Close(stopCtx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// envClusterKey carries the cluster key; prefer it to --cluster-key, which other users of the
// machine can read in the process list.
const envClusterKey = "SINGYEONG_CLUSTER_KEY"

// clusterEnvFlags are the cluster flags that also read SINGYEONG_<NAME> from the environment
// (--join is SINGYEONG_JOIN, comma-separated).
var clusterEnvFlags = []string{"node-id", "cluster-addr", "cluster-advertise-addr", "advertise-addr", "join",
	"balance-interval"}

// clusterHelp is the cluster part of serve's long help.
const clusterHelp = `
Cluster: --cluster-addr makes the node a member of a cluster (without it, a single node). Start
the first node without --join, then each other node with --join set to the cluster address of
any member; once the cluster exists, restart any node with --join listing the others. Every
node needs its own --data-dir and a unique --node-id (saved in the data directory; a restarted
node must keep it), and the same key on every node
(` + envClusterKey + `, or --cluster-key): base64 of 16, 24 or 32 random bytes, e.g.
  head -c 32 /dev/urandom | base64
It encrypts the gossip, and checks who opens each link and raft connection between nodes
(on the API port); the bytes on those connections are neither encrypted nor signed: keep that
traffic on a private network. The other nodes reach
this node's API at --advertise-addr (default --addr, which must then not be 0.0.0.0).
Example (3 nodes on one machine):
  singyeong serve --addr 127.0.0.1:4001 --data-dir d1 --node-id n1 --cluster-addr 127.0.0.1:7001
  singyeong serve --addr 127.0.0.1:4002 --data-dir d2 --node-id n2 --cluster-addr 127.0.0.1:7002 --join 127.0.0.1:7001
  singyeong serve --addr 127.0.0.1:4003 --data-dir d3 --node-id n3 --cluster-addr 127.0.0.1:7003 --join 127.0.0.1:7001
GET /api/v1/cluster shows the members, their health and the queue group.`

func clusterFlags(cmd *cobra.Command, c *cluster.Config, key *string) {
	f := cmd.Flags()
	f.StringVar(&c.NodeID, "node-id", "", "this node's id, unique in the cluster (default: the one saved in the data directory, or a new random one)")
	f.StringVar(&c.BindAddr, "cluster-addr", "", "host:port for cluster membership (TCP and UDP); empty runs a single node (e.g. "+cluster.DefaultBindAddr+")")
	f.StringVar(&c.AdvertiseAddr, "cluster-advertise-addr", "", "host:port the other members reach --cluster-addr at (default --cluster-addr)")
	f.StringVar(&c.APIAddr, "advertise-addr", "", "host:port the other nodes reach this node's API at (default --addr)")
	f.StringSliceVar(&c.Join, "join", nil, "cluster addresses (host:port, comma-separated) of members to join; any one that answers is enough")
	f.StringVar(key, "cluster-key", "", "cluster key, base64 of 16, 24 or 32 bytes (env "+envClusterKey+"; prefer the env)")
	f.DurationVar(&c.BalanceInterval, "balance-interval", cluster.DefaultBalanceInterval,
		"how often a node above its share of the cluster's clients sends the excess op 7 goodbye; 0 disables")
}

// applyClusterEnv completes the cluster part of cfg: the environment for the flags not given,
// the key decoded, and the rules that span flags.
func applyClusterEnv(cmd *cobra.Command, cfg *server.Config, key string) error {
	changed := cmd.Flags().Changed
	var errs []error
	for _, name := range clusterEnvFlags {
		if v, ok := os.LookupEnv(envName(name)); ok && !changed(name) {
			if err := cmd.Flags().Set(name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", envName(name), v, err))
			}
		}
	}
	if v := os.Getenv(envClusterKey); !changed("cluster-key") && v != "" {
		key = v
	}
	if key != "" {
		k, err := cluster.ParseKey(key)
		if err != nil {
			errs = append(errs, fmt.Errorf("--cluster-key: %w", err))
		}
		cfg.Cluster.Key = k
	}
	if !cfg.Clustered() && (len(cfg.Cluster.Join) > 0 || key != "") {
		errs = append(errs, fmt.Errorf("%w: --join and --cluster-key need --cluster-addr", cluster.ErrConfig))
	}
	return errors.Join(errs...)
}
