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
	"github.com/mahou-go/mahou/bus/gateway"
)

// Environment variables of serve. PORT and AUTH are the original server's.
const (
	envAddr    = "SINGYEONG_ADDR"
	envDataDir = "SINGYEONG_DATA_DIR"
	envPort    = "PORT"
	envAuthSrv = "AUTH"
)

// shutdownTimeout bounds a graceful stop.
const shutdownTimeout = 10 * time.Second

func newServeCommand(stderr io.Writer) *cobra.Command {
	cfg := gateway.DefaultConfig()
	var strategy, logLevel string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "run a singyeong server",
		Long: "Run a singyeong server. Precedence: flags, then environment, then defaults.\n" +
			"Environment: " + envAddr + " (or PORT, the original's, meaning :PORT), " + envDataDir +
			", AUTH (the shared password).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			applyServeEnv(cmd, &cfg)
			cfg.MetadataStrategy = bus.Strategy(strategy)
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: must be debug, info, warn or error", logLevel)
			}
			return runServe(cmd.Context(), cfg, stderrLogger(stderr, level))
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", gateway.DefaultAddr, "host:port to listen on (env "+envAddr+", or PORT)")
	f.StringVar(&cfg.DataDir, "data-dir", gateway.DefaultDataDir, "data directory (env "+envDataDir+")")
	f.StringVar(&cfg.Auth, "auth", "", "shared password; empty means open (env AUTH)")
	f.DurationVar(&cfg.HeartbeatInterval, "heartbeat-interval", gateway.DefaultHeartbeatInterval, "heartbeat interval sent in hello")
	f.DurationVar(&cfg.IdleTimeout, "idle-timeout", gateway.DefaultIdleTimeout, "close connections silent for this long")
	f.Int64Var(&cfg.MaxFrameBytes, "max-frame-bytes", gateway.DefaultMaxFrameBytes, "largest websocket message accepted")
	f.IntVar(&cfg.MaxConnections, "max-connections", gateway.DefaultMaxConnections, "most websocket connections at once")
	f.IntVar(&cfg.OutboundFrames, "outbound-frames", gateway.DefaultOutboundFrames, "frames queued per connection before it is a slow consumer")
	f.DurationVar(&cfg.WriteTimeout, "write-timeout", gateway.DefaultWriteTimeout, "longest websocket write before the client is a slow consumer")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", gateway.DefaultMaxBodyBytes, "largest REST request body")
	f.IntVar(&cfg.AuthFailures, "auth-failures", gateway.DefaultAuthFailures, "wrong passwords allowed per IP per window")
	f.DurationVar(&cfg.AuthFailureWindow, "auth-failure-window", gateway.DefaultAuthFailureWindow, "window of --auth-failures")
	f.StringVar(&strategy, "metadata-strategy", string(gateway.DefaultMetadataStrategy), "UPDATE_METADATA strategy: merge or replace")
	f.StringSliceVar(&cfg.OriginPatterns, "origin", nil, "browser origins allowed to connect besides the server's own host")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return cmd
}

// applyServeEnv fills the fields whose flag was not given from the environment.
func applyServeEnv(cmd *cobra.Command, cfg *gateway.Config) {
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
}

// runServe serves until ctx is cancelled (SIGINT or SIGTERM), then stops gracefully.
func runServe(ctx context.Context, cfg gateway.Config, log *slog.Logger) error {
	srv, err := gateway.NewServer(cfg, log)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
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
