package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/net/netutil"

	"github.com/mahou-go/mahou/kv"
	"github.com/mahou-go/mahou/kv/kvhttp"
	"github.com/mahou-go/mahou/kv/raftnode"
)

// Defaults of Config.
const (
	DefaultAddr              = "127.0.0.1:7654"
	DefaultRaftAddr          = "127.0.0.1:7655"
	DefaultDataDir           = "./crush-data"
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxHeaderBytes    = 64 << 10
	// DefaultMaxConnections bounds open API connections; more wait to be accepted.
	DefaultMaxConnections = 10000
)

// Config is everything a crush node is configured with.
type Config struct {
	// Addr is the HTTP API address ("127.0.0.1:0" picks a free port).
	Addr string
	// DataDir holds the state machine, the raft log and snapshots, and the node id.
	DataDir string
	// NodeID is the node's stable raft id; empty keeps the one saved in DataDir (or makes one).
	NodeID string
	// RaftAddr is the raft transport's address; AdvertiseRaftAddr what peers dial (default RaftAddr).
	RaftAddr          string
	AdvertiseRaftAddr string
	// AdvertiseAddr is the API address other nodes and clients reach this node at (default: Addr).
	AdvertiseAddr string
	// Peers bootstraps a new cluster with these voters (this node among them); empty with no
	// Join bootstraps a single node.
	Peers []raftnode.Peer
	// Join lists API addresses of existing members to ask for admission.
	Join []string
	// PeerSecret authenticates raft connections and internal requests between nodes.
	PeerSecret string
	// TLS, when CertFile and KeyFile are set, serves the API and raft over TLS; CAFile
	// verifies peers (and, with ClientCertAuth, API clients).
	TLS TLSFiles
	// Limits bound keys, values and multi-key commands.
	Limits kv.Limits
	// MaxBodyBytes bounds JSON request bodies.
	MaxBodyBytes int64
	// MaxConnections bounds open API connections (watches included); more wait in the
	// listen queue until one closes.
	MaxConnections int
	// WatchProgressInterval is how often an idle watch gets a progress event.
	WatchProgressInterval time.Duration
	// ReadHeaderTimeout, ReadTimeout and IdleTimeout are the HTTP server's timeouts. There is no
	// write timeout: watches stream for as long as the client stays.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration
	// Raft tunes replication (timeouts, snapshots). Its DataDir, NodeID and addresses come
	// from the fields above.
	Raft raftnode.Config
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
	// Version is reported by /v2/status.
	Version string
}

// WithDefaults fills zero fields.
func (c Config) WithDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.RaftAddr == "" {
		c.RaftAddr = DefaultRaftAddr
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Limits = c.Limits.WithDefaults()
	return c
}

// Validate names every broken rule.
func (c Config) Validate() error {
	var errs []error
	for name, addr := range map[string]string{"addr": c.Addr, "raft-addr": c.RaftAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: want host:port", name, addr))
		}
	}
	if c.AdvertiseRaftAddr != "" {
		if _, _, err := net.SplitHostPort(c.AdvertiseRaftAddr); err != nil {
			errs = append(errs, fmt.Errorf("advertise-raft-addr %q: want host:port", c.AdvertiseRaftAddr))
		}
	}
	if strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, errors.New("data-dir is empty"))
	}
	if c.Limits.MaxValueBytes < 0 || c.Limits.MaxKeyBytes < 0 {
		errs = append(errs, errors.New("size limits must be positive"))
	}
	if c.Raft.SnapshotInterval < 0 {
		errs = append(errs, fmt.Errorf("snapshot-interval %v: must be positive", c.Raft.SnapshotInterval))
	}
	errs = append(errs, c.validateCluster()...)
	if c.Limits.MaxValueBytes > 64<<20 {
		errs = append(errs, fmt.Errorf("max-value-bytes %d: at most 64 MiB (values travel in raft entries)", c.Limits.MaxValueBytes))
	}
	return errors.Join(errs...)
}

// Server is a running crush node.
type Server struct {
	cfg      Config
	log      *slog.Logger
	node     *raftnode.Node
	http     *http.Server
	listener net.Listener
	// cancel ends every request context, so watches stop on Close.
	cancel context.CancelFunc
	served chan error

	closeOnce sync.Once
	closeErr  error
}

// New builds a server from a validated config; Open starts it.
func New(cfg Config) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &Server{cfg: cfg, log: cfg.Logger, served: make(chan error, 1)}, nil
}

// Open opens the node and starts serving HTTP.
func (s *Server) Open() error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	serverTLS, peerTLS, err := s.cfg.TLS.load()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	ln = netutil.LimitListener(ln, s.cfg.MaxConnections)
	if serverTLS != nil {
		ln = tls.NewListener(ln, serverTLS)
	}
	s.listener = ln
	rc := s.cfg.Raft
	rc.DataDir, rc.NodeID, rc.RaftAddr, rc.AdvertiseAddr = s.cfg.DataDir, s.cfg.NodeID, s.cfg.RaftAddr, s.cfg.AdvertiseRaftAddr
	rc.Peers, rc.Join, rc.PeerSecret, rc.PeerTLS = s.cfg.Peers, s.apiURLs(s.cfg.Join), s.cfg.PeerSecret, peerTLS
	rc.APIAddr = s.apiURL(s.advertised())
	rc.Logger, rc.Registerer = s.log, reg
	s.node = raftnode.New(rc)
	if err := s.node.Open(); err != nil {
		ln.Close()
		return err
	}
	api, err := kvhttp.New(kvhttp.Config{Store: s.node, Cluster: s.node, Limits: s.cfg.Limits,
		MaxBodyBytes: s.cfg.MaxBodyBytes, WatchProgressInterval: s.cfg.WatchProgressInterval, Logger: s.log, Registry: reg, Version: s.cfg.Version})
	if err != nil {
		ln.Close()
		s.closeNode()
		return err
	}
	h := http.NewServeMux()
	h.Handle("/v2/internal/", s.node.InternalHandler())
	h.Handle("/", api)
	base, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.http = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    DefaultMaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	go func() { s.served <- s.http.Serve(ln) }()
	s.log.Info("crush serving", "addr", ln.Addr().String(), "api_url", rc.APIAddr, "raft_addr", s.node.RaftAddr(),
		"node_id", s.node.ID(), "data_dir", s.cfg.DataDir)
	return nil
}

// Addr is the HTTP address the server listens on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// URL is the API base URL this node advertises.
func (s *Server) URL() string { return s.apiURL(s.advertised()) }

func (s *Server) advertised() string {
	if s.cfg.AdvertiseAddr != "" {
		return s.cfg.AdvertiseAddr
	}
	return s.listener.Addr().String()
}

// apiURL turns host:port (or a URL) into a base URL with this node's scheme.
func (s *Server) apiURL(addr string) string {
	if strings.Contains(addr, "://") {
		return strings.TrimRight(addr, "/")
	}
	if s.cfg.TLS.enabled() {
		return "https://" + addr
	}
	return "http://" + addr
}

func (s *Server) apiURLs(addrs []string) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = s.apiURL(a)
	}
	return out
}

// Node is the replicated store behind the API.
func (s *Server) Node() *raftnode.Node { return s.node }

// Close stops serving, waits for requests in flight (bounded by ctx), and closes the node. It is
// idempotent.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.http != nil {
			s.cancel()
			if err := s.http.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("shutdown http: %w", err))
			}
			if err := <-s.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs = append(errs, err)
			}
		}
		errs = append(errs, s.closeNodeCtx(ctx))
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func (s *Server) closeNode() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.closeNodeCtx(ctx)
}

func (s *Server) closeNodeCtx(ctx context.Context) error {
	if s.node == nil {
		return nil
	}
	return s.node.Close(ctx)
}
