package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/mahou-go/mahou/bus/gateway"
	busserver "github.com/mahou-go/mahou/bus/server"
	"github.com/mahou-go/mahou/kv/server"
)

// Defaults of mahou dev.
const (
	defaultDataDir  = "./mahou-data"
	shutdownTimeout = 30 * time.Second
)

func newDevCmd() *cobra.Command {
	var dataDir, crushAddr, busAddr, logLevel string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run crush and singyeong in one process, with one local data directory",
		Long: `Run the stack's infrastructure in one process: a single-node crush (the store) and a
singyeong server (the bus), with their data under one directory (crush/ and singyeong/ in it).
Stop it with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: use debug, info, warn or error", logLevel)
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			return runDev(cmd.Context(), log, dataDir, crushAddr, busAddr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dataDir, "data-dir", defaultDataDir, "data directory of both parts")
	fl.StringVar(&crushAddr, "crush-addr", server.DefaultAddr, "crush API address")
	fl.StringVar(&busAddr, "singyeong-addr", gateway.DefaultAddr, "singyeong address")
	fl.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

func runDev(ctx context.Context, log *slog.Logger, dataDir, crushAddr, busAddr string) error {
	store, err := server.New(server.Config{Addr: crushAddr, RaftAddr: "127.0.0.1:0",
		DataDir: filepath.Join(dataDir, "crush"), Logger: log.With("part", "crush")})
	if err != nil {
		return err
	}
	if err := store.Open(); err != nil {
		return err
	}
	cfg := busserver.DefaultConfig()
	cfg.Gateway.Addr, cfg.Gateway.DataDir = busAddr, filepath.Join(dataDir, "singyeong")
	bus, err := busserver.New(cfg, log.With("part", "singyeong"))
	if err == nil {
		err = bus.Open()
	}
	if err != nil {
		closeCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return errors.Join(err, store.Close(closeCtx))
	}
	log.Info("mahou dev running", "crush", "http://"+store.Addr(), "singyeong", "ws://"+bus.Addr()+"/gateway/websocket", "data_dir", dataDir)
	<-ctx.Done()
	log.Info("shutting down")
	closeCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	return errors.Join(bus.Close(closeCtx), store.Close(closeCtx))
}
