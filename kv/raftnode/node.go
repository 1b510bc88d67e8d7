package raftnode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/bbolt"

	"github.com/mahou-go/mahou/internal/datadir"
	"github.com/mahou-go/mahou/kv"
	"github.com/mahou-go/mahou/kv/boltstore"
)

// Peer is one voter of the initial cluster.
type Peer struct {
	ID   string
	Addr string
}

// Config configures a Node. Zero fields take the defaults below.
type Config struct {
	// NodeID is this node's stable id. Empty: read from DataDir/node-id, or generated once and
	// saved there.
	NodeID string
	// DataDir holds state.db (the state machine), raft/ (log and snapshots) and node-id.
	DataDir string
	// RaftAddr is the address the raft transport binds ("127.0.0.1:0" picks a free port).
	RaftAddr string
	// AdvertiseAddr is the raft address peers dial; empty means the bound address.
	AdvertiseAddr string
	// Peers bootstraps a new cluster with these voters (this node must be one of them). Empty
	// bootstraps a cluster of this node alone, unless NoBootstrap is set.
	Peers []Peer
	// NoBootstrap leaves a new node waiting to be added to an existing cluster.
	NoBootstrap bool
	// Join lists API base URLs of existing members; a new node asks them to add it (as a
	// voter once it has caught up) and does not bootstrap.
	Join []string
	// APIAddr is this node's HTTP API base URL as peers reach it (e.g. http://10.0.0.1:7654);
	// followers forward writes to the leader's.
	APIAddr string
	// PeerSecret, when set, authenticates raft connections and internal requests between nodes.
	PeerSecret string
	// PeerTLS, when set, encrypts raft connections (both sides use it: certificates and the CA
	// that verifies the peers).
	PeerTLS *tls.Config
	// HTTPClient calls other nodes' APIs (forwarding, joins, status); nil builds one from PeerTLS.
	HTTPClient *http.Client
	// Transport replaces the TCP transport (tests use raft's in-memory transport).
	Transport raft.Transport
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the node's metrics; nil registers nothing.
	Registerer prometheus.Registerer

	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	// SnapshotThreshold is how many log entries trigger a snapshot; TrailingLogs how many stay
	// in the log after one (so slow followers catch up without a snapshot).
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
	// RetentionInterval is how often the leader applies the retention policy.
	RetentionInterval time.Duration
	// Store tunes the state machine.
	Store boltstore.Config
}

// Defaults of Config.
const (
	DefaultHeartbeatTimeout   = 1000 * time.Millisecond
	DefaultElectionTimeout    = 1000 * time.Millisecond
	DefaultLeaderLeaseTimeout = 500 * time.Millisecond
	DefaultSnapshotThreshold  = 16384
	DefaultSnapshotInterval   = 2 * time.Minute
	DefaultTrailingLogs       = 10240
	DefaultRetentionInterval  = time.Minute
	// DefaultCommitInterval lets the state machine share one bbolt commit among the batches
	// of this long: an acknowledged write is durable in the raft log, and linearizable reads
	// wait for the commit.
	DefaultCommitInterval = 2 * time.Millisecond
	// DefaultMaxAppendEntries is how many log entries raft writes (one fsync) and applies at a
	// time.
	DefaultMaxAppendEntries = 256
	// logCacheSize is how many of the newest log entries stay in memory (two full appends).
	logCacheSize = 2 * DefaultMaxAppendEntries
)

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if c.ElectionTimeout <= 0 {
		c.ElectionTimeout = DefaultElectionTimeout
	}
	if c.LeaderLeaseTimeout <= 0 {
		c.LeaderLeaseTimeout = DefaultLeaderLeaseTimeout
	}
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = DefaultSnapshotThreshold
	}
	if c.SnapshotInterval <= 0 {
		c.SnapshotInterval = DefaultSnapshotInterval
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = DefaultTrailingLogs
	}
	if c.RetentionInterval <= 0 {
		c.RetentionInterval = DefaultRetentionInterval
	}
	if c.RaftAddr == "" {
		c.RaftAddr = "127.0.0.1:0"
	}
	if c.Store.CommitInterval == 0 {
		c.Store.CommitInterval = DefaultCommitInterval
	}
	if c.Store.CommitInterval < 0 {
		c.Store.CommitInterval = 0
	}
}

// Node is one crush replica: the state machine, its raft, and the read barrier.
type Node struct {
	cfg   Config
	log   *slog.Logger
	store *boltstore.Store

	raft      *raft.Raft
	transport raft.Transport
	secret    []byte
	httpc     *http.Client
	logStore  *raftboltdb.BoltStore
	// logs is logStore behind a cache of the newest entries, which followers apply and the
	// leader replicates without reading them back from the file.
	logs    raft.LogStore
	metrics *metrics

	readMu sync.Mutex // guards readWaiters, readRunning
	// readWaiters are the callers of Linearize waiting for the next leadership check.
	readWaiters []chan error
	readRunning bool

	stop     chan struct{}
	wg       sync.WaitGroup
	closeMu  sync.Mutex // guards closed
	closed   bool
	closeErr error
}

var _ kv.Store = (*Node)(nil)

// New builds a Node; Open starts it.
func New(cfg Config) *Node {
	cfg.setDefaults()
	n := &Node{cfg: cfg, log: cfg.Logger, stop: make(chan struct{}), secret: []byte(cfg.PeerSecret), httpc: cfg.HTTPClient}
	if n.httpc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = cfg.PeerTLS
		tr.MaxIdleConnsPerHost = 64
		if ip := loopbackIP(cfg.AdvertiseAddr, cfg.RaftAddr); ip != nil {
			// calls to peers come from this node's own loopback address, as its raft
			// connections do, so that nodes sharing a host can be told apart
			d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: ip}}
			tr.DialContext = d.DialContext
		}
		n.httpc = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	return n
}

// loopbackIP returns the IP of the first address that names a loopback IP, or nil.
func loopbackIP(addrs ...string) net.IP {
	for _, a := range addrs {
		if a == "" {
			continue
		}
		host, _, err := net.SplitHostPort(a)
		if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsLoopback() {
			return ip
		}
		return nil
	}
	return nil
}

// Open opens the state machine and the raft log, starts raft, and bootstraps a new cluster
// when the data directory is empty and bootstrapping is wanted.
func (n *Node) Open() error {
	if n.cfg.DataDir == "" {
		return errors.New("open node: no data directory")
	}
	raftDir := filepath.Join(n.cfg.DataDir, "raft")
	if err := os.MkdirAll(raftDir, 0o750); err != nil {
		return fmt.Errorf("open node: %w", err)
	}
	id, err := datadir.NodeID(n.cfg.DataDir, n.cfg.NodeID)
	if err != nil {
		return err
	}
	n.cfg.NodeID = id
	storeCfg := n.cfg.Store
	storeCfg.Path = filepath.Join(n.cfg.DataDir, "state.db")
	storeCfg.Logger = n.log
	n.store = boltstore.New(storeCfg)
	if err := n.store.Open(); err != nil {
		return err
	}
	if err := n.startRaft(raftDir); err != nil {
		n.store.Close()
		return err
	}
	n.metrics = newMetrics(n)
	if n.cfg.Registerer != nil {
		if err := n.cfg.Registerer.Register(n.metrics); err != nil {
			return fmt.Errorf("open node: register metrics: %w", err)
		}
	}
	n.wg.Add(2)
	go n.retentionLoop()
	go n.reconcileLoop()
	if len(n.cfg.Join) > 0 {
		n.wg.Add(1)
		go n.joinLoop(n.cfg.Join)
	}
	return nil
}

func (n *Node) startRaft(raftDir string) error {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.cfg.NodeID)
	rc.HeartbeatTimeout = n.cfg.HeartbeatTimeout
	rc.ElectionTimeout = n.cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = n.cfg.LeaderLeaseTimeout
	rc.SnapshotThreshold = n.cfg.SnapshotThreshold
	rc.SnapshotInterval = n.cfg.SnapshotInterval
	rc.TrailingLogs = n.cfg.TrailingLogs
	rc.BatchApplyCh = true
	rc.MaxAppendEntries = DefaultMaxAppendEntries
	rc.NoSnapshotRestoreOnStart = true
	rc.Logger = newHclog(n.log, "raft")

	logStore, err := raftboltdb.New(raftboltdb.Options{
		Path: filepath.Join(raftDir, "raft.db"),
		// every append is fsynced; only the freelist is rebuilt on open instead of written
		BoltOptions: &bbolt.Options{Timeout: 5 * time.Second, FreelistType: bbolt.FreelistMapType, NoFreelistSync: true},
	})
	if err != nil {
		return fmt.Errorf("open raft log: %w", err)
	}
	n.logStore = logStore
	cached, err := raft.NewLogCache(logCacheSize, logStore)
	if err != nil {
		logStore.Close()
		return fmt.Errorf("open raft log cache: %w", err)
	}
	n.logs = cached
	snaps, err := raft.NewFileSnapshotStoreWithLogger(raftDir, 2, rc.Logger)
	if err != nil {
		logStore.Close()
		return fmt.Errorf("open snapshots: %w", err)
	}
	n.transport = n.cfg.Transport
	if n.transport == nil {
		if n.transport, err = n.tcpTransport(rc); err != nil {
			logStore.Close()
			return err
		}
	}
	f := &fsm{store: n.store, log: n.log, onBatch: func(k int) {
		if n.metrics != nil {
			n.metrics.batch.Observe(float64(k))
		}
	}}
	r, err := raft.NewRaft(rc, f, cached, logStore, snaps, n.transport)
	if err != nil {
		logStore.Close()
		return fmt.Errorf("start raft: %w", err)
	}
	n.raft = r
	return n.bootstrap(cached, snaps)
}

func (n *Node) tcpTransport(rc *raft.Config) (raft.Transport, error) {
	stream, err := newPeerStream(n.cfg.RaftAddr, n.cfg.AdvertiseAddr, n.secret, n.cfg.PeerTLS, n.log)
	if err != nil {
		return nil, err
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: stream, MaxPool: 5, Timeout: 10 * time.Second, Logger: rc.Logger,
	}), nil
}

func (n *Node) bootstrap(logs raft.LogStore, snaps raft.SnapshotStore) error {
	has, err := raft.HasExistingState(logs, n.logStore, snaps)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if has || n.cfg.NoBootstrap || len(n.cfg.Join) > 0 {
		return nil
	}
	servers := []raft.Server{{ID: raft.ServerID(n.cfg.NodeID), Address: n.transport.LocalAddr()}}
	if len(n.cfg.Peers) > 0 {
		servers = servers[:0]
		for _, p := range n.cfg.Peers {
			servers = append(servers, raft.Server{ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Addr)})
		}
	}
	n.log.Info("bootstrapping cluster", "voters", len(servers))
	if err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
		return fmt.Errorf("bootstrap: %w", err)
	}
	return nil
}

// ID is the node's raft server id.
func (n *Node) ID() string { return n.cfg.NodeID }

// RaftAddr is the address peers dial.
func (n *Node) RaftAddr() string { return string(n.transport.LocalAddr()) }

// StateMachine exposes the local state machine (maintenance: checks, backups).
func (n *Node) StateMachine() *boltstore.Store { return n.store }

// WaitLeader waits until the cluster has a leader.
func (n *Node) WaitLeader(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if addr, _ := n.raft.LeaderWithID(); addr != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for leader: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// Close stops raft and closes the files. It is idempotent and waits for the node's goroutines.
func (n *Node) Close(ctx context.Context) error {
	n.closeMu.Lock()
	defer n.closeMu.Unlock()
	if n.closed {
		return n.closeErr
	}
	n.closed = true
	close(n.stop)
	var errs []error
	if n.raft != nil {
		done := make(chan error, 1)
		go func() { done <- n.raft.Shutdown().Error() }()
		select {
		case err := <-done:
			errs = append(errs, err)
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("shutdown raft: %w", ctx.Err()))
		}
	}
	n.wg.Wait()
	if c, ok := n.transport.(interface{ Close() error }); ok {
		errs = append(errs, c.Close())
	}
	if n.logStore != nil {
		errs = append(errs, n.logStore.Close())
	}
	if n.cfg.Registerer != nil && n.metrics != nil {
		n.cfg.Registerer.Unregister(n.metrics)
	}
	errs = append(errs, n.store.Close())
	n.closeErr = errors.Join(errs...)
	return n.closeErr
}
