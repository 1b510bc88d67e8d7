package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/proxy"
	"github.com/mahou-go/mahou/bus/queue"
	"github.com/mahou-go/mahou/bus/queue/boltstore"
	"github.com/mahou-go/mahou/bus/queue/queueapi"
)

// QueueFile is the queue database's name in the data directory.
const QueueFile = "queues.db"

// Config is the configuration of a node: one part per component. The proxy's request body
// and nesting limits are the gateway's (MaxBodyBytes, MaxDepth).
type Config struct {
	Gateway gateway.Config
	Queue   queue.Config
	Proxy   proxy.Config
}

// DefaultConfig returns a Config with every field at its default.
func DefaultConfig() Config {
	return Config{Gateway: gateway.DefaultConfig(), Queue: queue.DefaultConfig(), Proxy: proxy.DefaultConfig()}
}

// Validate reports every broken rule of every part at once.
func (c Config) Validate() error {
	return errors.Join(c.Gateway.Validate(), c.Queue.Validate(), c.withLimits().Proxy.Validate())
}

func (c Config) withLimits() Config {
	c.Proxy.MaxBodyBytes, c.Proxy.MaxDepth = c.Gateway.MaxBodyBytes, c.Gateway.MaxDepth
	return c
}

// Server is one singyeong node. New builds it, Open starts it, Close stops it.
type Server struct {
	cfg    Config
	log    *slog.Logger
	gw     *gateway.Server
	store  *boltstore.Store
	broker *queue.Broker
	proxy  *proxy.Proxy
}

// New validates cfg and builds a node; it opens nothing.
func New(cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withLimits()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	gw, err := gateway.NewServer(cfg.Gateway, log)
	if err != nil {
		return nil, err
	}
	store := boltstore.New(filepath.Join(cfg.Gateway.DataDir, QueueFile))
	broker, err := queue.NewBroker(cfg.Queue, store, gw.Finder(), log.With("part", "queues"))
	if err != nil {
		return nil, err
	}
	px, err := proxy.New(cfg.Proxy, gw.Finder(), log.With("part", "proxy"))
	if err != nil {
		return nil, err
	}
	opts := queueapi.Options{MaxBodyBytes: cfg.Gateway.MaxBodyBytes, MaxDepth: cfg.Gateway.MaxDepth}
	if err := errors.Join(queueapi.Register(gw, broker, opts), proxy.Register(gw, px)); err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, log: log, gw: gw, store: store, broker: broker, proxy: px}, nil
}

// Open opens the queue database (creating the data directory), loads the queues and starts
// serving.
func (s *Server) Open() error {
	if err := os.MkdirAll(s.cfg.Gateway.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if err := s.store.Open(); err != nil {
		return err
	}
	if err := s.broker.Open(); err != nil {
		return errors.Join(err, s.store.Close())
	}
	if err := s.gw.Start(); err != nil {
		return errors.Join(err, s.broker.Close(context.Background()))
	}
	return nil
}

// Addr returns the address the node listens on, or "" before Open.
func (s *Server) Addr() string { return s.gw.Addr() }

// Gateway returns the node's gateway.
func (s *Server) Gateway() *gateway.Server { return s.gw }

// Broker returns the node's queues.
func (s *Server) Broker() *queue.Broker { return s.broker }

// Close stops the gateway (every client gets op 7 goodbye), then writes what the queues
// applied and closes their database. It waits for every goroutine and is idempotent.
func (s *Server) Close(ctx context.Context) error {
	return errors.Join(s.gw.Close(ctx), s.broker.Close(ctx), s.proxy.Close(ctx))
}
