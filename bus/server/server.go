package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/mahou-go/mahou/bus/cluster"
	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/internal/peer"
	"github.com/mahou-go/mahou/bus/proxy"
	"github.com/mahou-go/mahou/bus/queue"
	"github.com/mahou-go/mahou/bus/queue/boltstore"
	"github.com/mahou-go/mahou/bus/queue/queueapi"
	"github.com/mahou-go/mahou/bus/queue/raftqueue"
	"github.com/mahou-go/mahou/internal/datadir"
)

// Files and directories in the data directory.
const (
	// QueueFile is the queue database.
	QueueFile = "queues.db"
	// RaftDir holds the queue group's raft log and snapshots.
	RaftDir = "raft"
	// NodeIDFile keeps the node's id across restarts.
	NodeIDFile = datadir.NodeIDFile
)

// startTimeout bounds the wait of a node alone in its queue group for its own leadership.
const startTimeout = 10 * time.Second

// kindQueue is the cluster message kind of the queue services.
const kindQueue byte = 1

// Config is the configuration of a node: one part per component. The proxy's request body
// and nesting limits are the gateway's (MaxBodyBytes, MaxDepth).
type Config struct {
	Gateway gateway.Config
	Queue   queue.Config
	Proxy   proxy.Config
	// Cluster makes the node a member of a cluster when Cluster.BindAddr is set. An empty
	// NodeID is read from <data-dir>/node-id, or chosen once and saved there (also for a
	// single node, whose queue group knows it by it).
	Cluster cluster.Config
	// Raft tunes the queue group's raft.
	Raft RaftConfig
}

// RaftConfig tunes the queue group's raft; zero values take raftqueue's defaults.
type RaftConfig struct {
	HeartbeatTimeout  time.Duration
	ElectionTimeout   time.Duration
	SnapshotThreshold uint64
	// TrailingLogs entries stay in the log after a snapshot; a follower further behind gets
	// the snapshot instead.
	TrailingLogs     uint64
	SnapshotInterval time.Duration
	OrphanGrace      time.Duration
}

// DefaultConfig returns a Config with every field at its default: a single node.
func DefaultConfig() Config {
	c := Config{Gateway: gateway.DefaultConfig(), Queue: queue.DefaultConfig(), Proxy: proxy.DefaultConfig(),
		Cluster: cluster.DefaultConfig()}
	c.Cluster.BindAddr = ""
	return c
}

// Clustered reports whether the node joins a cluster.
func (c Config) Clustered() bool { return c.Cluster.BindAddr != "" }

// Validate reports every broken rule of every part at once.
func (c Config) Validate() error {
	errs := []error{c.Gateway.Validate(), c.Queue.Validate(), c.withLimits().Proxy.Validate()}
	if c.Clustered() {
		cc := c.Cluster
		if cc.NodeID == "" {
			cc.NodeID = "placeholder" // resolved at Open
		}
		errs = append(errs, cc.Validate())
	}
	return errors.Join(errs...)
}

func (c Config) withLimits() Config {
	c.Proxy.MaxBodyBytes, c.Proxy.MaxDepth = c.Gateway.MaxBodyBytes, c.Gateway.MaxDepth
	return c
}

// Server is one singyeong node. New builds it, Open starts it, Close stops it.
type Server struct {
	cfg       Config
	log       *slog.Logger
	gw        *gateway.Server
	store     *boltstore.Store
	broker    *queue.Broker
	svc       *queue.Service
	proxy     *proxy.Proxy
	transport *transport

	// Built by Open.
	cluster  *cluster.Cluster // nil for a single node
	raft     *raftqueue.Node
	toLeader http.Handler // passes a request to the queue leader's API (clustered)
}

// transport is the queue service's way to the leader: raft says who leads, the cluster's
// links carry the messages.
type transport struct {
	raft    *raftqueue.Node
	cluster *cluster.Cluster
}

func (t *transport) Leader() (string, bool) { return t.raft.Leader() }

func (t *transport) Send(node string, msg []byte) bool {
	return t.cluster != nil && t.cluster.Send(node, kindQueue, msg)
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
	s := &Server{cfg: cfg, log: log, gw: gw, store: store, broker: broker, proxy: px, transport: &transport{}}
	s.svc = queue.NewService(broker, s.transport, log.With("part", "queues"))
	opts := queueapi.Options{MaxBodyBytes: cfg.Gateway.MaxBodyBytes, MaxDepth: cfg.Gateway.MaxDepth}
	if cfg.Clustered() {
		opts.Forward = forwardLater(s)
	}
	if err := errors.Join(queueapi.Register(gw, s.svc, opts), proxy.Register(gw, px)); err != nil {
		return nil, err
	}
	return s, nil
}

// Open opens the queue database (creating the data directory), joins the cluster when
// configured, starts the queue group's raft and starts serving. A node alone in its queue
// group serves once it leads it, so that its queues take work from the first frame.
func (s *Server) Open() error {
	if err := os.MkdirAll(s.cfg.Gateway.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	id, err := datadir.NodeID(s.cfg.Gateway.DataDir, s.cfg.Cluster.NodeID)
	if err != nil {
		return err
	}
	// Only a clustered node takes peer connections: a node alone has nobody to talk to, and
	// without a cluster key anyone reaching the port could speak raft to its queues.
	var hub *peer.Hub
	if s.cfg.Clustered() {
		hub = peer.NewHub(s.cfg.Cluster.Key, peer.Identity{Node: id, Run: cluster.NewRunID()})
		if err := s.gw.HandleHTTP(peer.Route, hub); err != nil {
			return err
		}
		if err := s.newCluster(id, hub); err != nil {
			return err
		}
	} else if err := errors.Join(s.gw.HandleHTTP(statusRoute, s.singleStatus(id)),
		s.gw.HandleHTTP(removeRoute, notClustered())); err != nil {
		return err
	}
	if err := s.store.Open(); err != nil {
		return err
	}
	if err := s.openQueues(id, hub); err != nil {
		return errors.Join(err, s.closeParts(context.Background()))
	}
	if err := s.gw.Start(); err != nil {
		return errors.Join(err, s.closeParts(context.Background()))
	}
	return nil
}

func (s *Server) newCluster(id string, hub *peer.Hub) error {
	cfg := s.cfg.Cluster
	cfg.NodeID = id
	c, err := cluster.New(cfg, s.gw, hub, s.log.With("part", "cluster"))
	if err != nil {
		return err
	}
	s.toLeader = c.Forward(func() string { id, _ := s.raft.Leader(); return id })
	err = errors.Join(c.Handle(kindQueue, s.svc.Receive), c.OnPeerDown(s.svc.PeerDown),
		c.AddStatus("queues", func() any { return s.raft.Status() }),
		s.gw.HandleHTTP(removeRoute, s.removeMember(s.toLeader)))
	if err != nil {
		return err
	}
	s.cluster, s.transport.cluster = c, c
	return nil
}

// openQueues binds the API listener, opens the broker and its raft, the cluster, and the
// queue service.
func (s *Server) openQueues(id string, hub *peer.Hub) error {
	if err := s.gw.Listen(); err != nil {
		return err
	}
	addr := s.cfg.Cluster.APIAddr
	if addr == "" {
		addr = s.gw.Addr()
	}
	rcfg := raftqueue.Config{NodeID: id, Dir: filepath.Join(s.cfg.Gateway.DataDir, RaftDir), Addr: addr,
		Key: s.cfg.Cluster.Key, Bootstrap: !s.cfg.Clustered() || len(s.cfg.Cluster.Join) == 0,
		HeartbeatTimeout: s.cfg.Raft.HeartbeatTimeout, ElectionTimeout: s.cfg.Raft.ElectionTimeout,
		SnapshotThreshold: s.cfg.Raft.SnapshotThreshold, TrailingLogs: s.cfg.Raft.TrailingLogs,
		SnapshotInterval: s.cfg.Raft.SnapshotInterval, OrphanGrace: s.cfg.Raft.OrphanGrace,
		Logger: s.log.With("part", "queues")}
	if s.cluster != nil {
		rcfg.Members, rcfg.Synced, rcfg.Self = s.voters, s.cluster.WaitSynced, hub.Self()
	}
	node, err := raftqueue.New(rcfg, s.broker, hub)
	if err != nil {
		return err
	}
	s.raft, s.transport.raft = node, node
	if err := s.broker.Open(); err != nil {
		return err
	}
	if s.cluster != nil {
		if err := s.cluster.Open(); err != nil {
			return err
		}
	}
	if err := node.Open(); err != nil {
		return err
	}
	s.svc.Open()
	if node.Voters() == 1 && rcfg.Bootstrap {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		return node.WaitLeader(ctx)
	}
	return nil
}

// voters are the live members, which the queue group's leader makes voters.
func (s *Server) voters() []raftqueue.Peer {
	var out []raftqueue.Peer
	for _, m := range s.cluster.Members() {
		if m.State == "alive" && m.APIAddr != "" {
			out = append(out, raftqueue.Peer{ID: m.ID, Addr: m.APIAddr})
		}
	}
	return out
}

// forwardLater passes the queue REST routes to the leader once the cluster exists.
func forwardLater(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.toLeader.ServeHTTP(w, r) })
}

// Addr returns the address the node listens on, or "" before Open.
func (s *Server) Addr() string { return s.gw.Addr() }

// Gateway returns the node's gateway.
func (s *Server) Gateway() *gateway.Server { return s.gw }

// Broker returns the node's replica of the queues.
func (s *Server) Broker() *queue.Broker { return s.broker }

// Queues returns the node's queue service.
func (s *Server) Queues() *queue.Service { return s.svc }

// Cluster returns the node's cluster, nil for a single node.
func (s *Server) Cluster() *cluster.Cluster { return s.cluster }

// Raft returns the node's replica of the queue group (nil before Open).
func (s *Server) Raft() *raftqueue.Node { return s.raft }

// Close stops the gateway (every client gets op 7 goodbye, and the other nodes hear of their
// departure), the queue service, raft and the queues (writing what they applied), then leaves
// the cluster. It waits for every goroutine and is idempotent.
func (s *Server) Close(ctx context.Context) error {
	return errors.Join(s.gw.Close(ctx), s.closeParts(ctx), s.proxy.Close(ctx))
}

func (s *Server) closeParts(ctx context.Context) error {
	errs := []error{s.svc.Close(ctx)}
	if s.raft != nil {
		errs = append(errs, s.raft.Close(ctx))
	}
	errs = append(errs, s.broker.Close(ctx), s.store.Close())
	if s.cluster != nil {
		errs = append(errs, s.cluster.Close(ctx))
	}
	return errors.Join(errs...)
}
