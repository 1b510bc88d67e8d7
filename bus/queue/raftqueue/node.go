package raftqueue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/mahou-go/mahou/bus/internal/peer"
	"github.com/mahou-go/mahou/bus/queue"
)

// Defaults of Config.
const (
	DefaultHeartbeatTimeout  = 500 * time.Millisecond
	DefaultElectionTimeout   = 500 * time.Millisecond
	DefaultSnapshotThreshold = 8192
	DefaultTrailingLogs      = 10240
	DefaultSnapshotInterval  = 2 * time.Minute
	// DefaultOrphanGrace is how long a new leader waits for the cluster to bring it every
	// node's clients before it takes back the messages in flight to consumers it does not see.
	DefaultOrphanGrace = 3 * time.Second
)

// Peer is a node that may vote in the queue group: its id and its raft (API) address.
type Peer struct {
	ID   string
	Addr string
}

// Config configures a Node. Zero durations and counts take the defaults.
type Config struct {
	// NodeID is this node's raft server id (the cluster's node id).
	NodeID string
	// Dir holds the raft log (raft.db) and the snapshots.
	Dir string
	// Addr is this node's raft address: its API address, where the other nodes dial it.
	Addr string
	// Bootstrap starts a new group of this node alone when there is no raft state yet. A node
	// that joins a cluster does not bootstrap: the leader adds it.
	Bootstrap bool
	// Key authenticates raft's peer connections (nil: none); Self names this node on them.
	Key  []byte
	Self peer.Identity
	// Members returns the live members of the cluster, which the leader makes voters; nil
	// means this node alone.
	Members func() []Peer
	// Synced waits until this node knows every live member's clients (see ReturnOrphans);
	// nil means at once.
	Synced func(ctx context.Context) error

	HeartbeatTimeout, ElectionTimeout time.Duration
	SnapshotThreshold, TrailingLogs   uint64
	SnapshotInterval, OrphanGrace     time.Duration
	Logger                            *slog.Logger
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.HeartbeatTimeout, DefaultHeartbeatTimeout)
	def(&c.ElectionTimeout, DefaultElectionTimeout)
	def(&c.SnapshotInterval, DefaultSnapshotInterval)
	def(&c.OrphanGrace, DefaultOrphanGrace)
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = DefaultSnapshotThreshold
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = DefaultTrailingLogs
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// ErrJoiningWithData means a node that joins a cluster holds queues of its own: raft would
// apply the group's log on top of them. Start it on an empty data directory.
var ErrJoiningWithData = errors.New("a node joining a cluster must start without queues of its own")

// Node is this node's replica of the queue group.
type Node struct {
	cfg  Config
	b    *queue.Broker
	hub  *peer.Hub
	log  *slog.Logger
	raft *raft.Raft

	transport raft.Transport
	logStore  *raftboltdb.BoltStore
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

var _ queue.Replicator = (*Node)(nil)

// New builds the replica of broker b, whose raft connections come through hub; it makes b a
// replica (call it before b.Open) and starts nothing. A nil hub makes a group of this node
// alone, on an in-memory transport that no connection can reach.
func New(cfg Config, b *queue.Broker, hub *peer.Hub) (*Node, error) {
	cfg.setDefaults()
	if cfg.NodeID == "" || cfg.Dir == "" {
		return nil, errors.New("new queue replica: a node id and a directory are required")
	}
	n := &Node{cfg: cfg, b: b, hub: hub, log: cfg.Logger, stop: make(chan struct{})}
	if err := b.Replicate(n); err != nil {
		return nil, err
	}
	return n, nil
}

// Open starts raft (the broker must be open) and, for a new group, bootstraps it.
func (n *Node) Open() error {
	if err := os.MkdirAll(n.cfg.Dir, 0o750); err != nil {
		return fmt.Errorf("open queue raft: %w", err)
	}
	addr, err := net.ResolveTCPAddr("tcp", n.cfg.Addr)
	if err != nil {
		return fmt.Errorf("open queue raft: address %q: %w", n.cfg.Addr, err)
	}
	rc := n.raftConfig()
	logStore, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(n.cfg.Dir, "raft.db"),
		BoltOptions: &bolt.Options{Timeout: 2 * time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true}})
	if err != nil {
		return fmt.Errorf("open queue raft log: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(n.cfg.Dir, 2, rc.Logger)
	if err != nil {
		logStore.Close()
		return fmt.Errorf("open queue snapshots: %w", err)
	}
	if err := n.catchUp(snaps); err != nil {
		logStore.Close()
		return err
	}
	has, err := raft.HasExistingState(logStore, logStore, snaps)
	if err == nil && !has && !n.cfg.Bootstrap && len(n.b.Stats()) > 0 {
		err = ErrJoiningWithData
	}
	if err != nil {
		logStore.Close()
		return fmt.Errorf("open queue raft: %w", err)
	}
	if n.hub != nil {
		stream := &streamLayer{ln: n.hub.Listen(raftProto, addr), key: n.cfg.Key, self: n.cfg.Self}
		n.transport = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Stream: stream, MaxPool: 3, Timeout: 10 * time.Second, Logger: rc.Logger})
	} else {
		_, n.transport = raft.NewInmemTransport(raft.ServerAddress(n.cfg.Addr))
	}
	r, err := raft.NewRaft(rc, &fsm{b: n.b}, logStore, logStore, snaps, n.transport)
	if err != nil {
		n.closeTransport()
		logStore.Close()
		return fmt.Errorf("start queue raft: %w", err)
	}
	n.raft, n.logStore = r, logStore
	if !has && n.cfg.Bootstrap {
		n.log.Info("bootstrapping the queue group", "node", n.cfg.NodeID)
		cfg := raft.Configuration{Servers: []raft.Server{{ID: raft.ServerID(n.cfg.NodeID), Address: raft.ServerAddress(n.cfg.Addr)}}}
		if err := r.BootstrapCluster(cfg).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return errors.Join(fmt.Errorf("bootstrap the queue group: %w", err), n.Close(context.Background()))
		}
	}
	n.wg.Add(2)
	go n.leadership()
	go n.reconcile()
	return nil
}

func (n *Node) raftConfig() *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.cfg.NodeID)
	rc.HeartbeatTimeout, rc.ElectionTimeout = n.cfg.HeartbeatTimeout, n.cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = min(rc.LeaderLeaseTimeout, n.cfg.HeartbeatTimeout)
	rc.SnapshotThreshold, rc.TrailingLogs, rc.SnapshotInterval = n.cfg.SnapshotThreshold, n.cfg.TrailingLogs, n.cfg.SnapshotInterval
	// BatchApplyCh stays off: with a buffered apply channel, an Apply racing Shutdown can
	// land in the buffer after raft's loop is gone, and its future never completes (the
	// broker's last commit then hangs Close). The broker proposes one entry at a time anyway
	// (a whole group commit each), so the buffer would batch nothing.
	rc.MaxAppendEntries = 256
	rc.NoSnapshotRestoreOnStart = true
	rc.Logger = newHclog(n.log)
	return rc
}

// Replicate implements queue.Replicator.
func (n *Node) Replicate(entry []byte) error {
	select {
	case <-n.stop:
		return fmt.Errorf("replicate queue entry: %w", raft.ErrRaftShutdown)
	default:
	}
	f := n.raft.Apply(entry, 0)
	if err := n.wait(f); err != nil {
		return fmt.Errorf("replicate queue entry: %w", err)
	}
	if err, ok := f.Response().(error); ok && err != nil {
		return fmt.Errorf("apply queue entry: %w", err)
	}
	return nil
}

// wait returns f's error, or raft.ErrRaftShutdown once the node is closing. A future raft
// committed but had not applied when it shut down never completes (Error has no shutdown case
// for it), so it is waited for on a goroutine beside the node's stop; that goroutine then
// outlives Close, blocked on a future nobody completes, holding nothing else.
func (n *Node) wait(f raft.Future) error {
	res := make(chan error, 1)
	go func() { res <- f.Error() }()
	select {
	case err := <-res:
		return err
	case <-n.stop:
		return fmt.Errorf("%w (the outcome is unknown)", raft.ErrRaftShutdown)
	}
}

// Leader returns the id of the group's leader ("" when none is known) and whether it is this
// node.
func (n *Node) Leader() (string, bool) {
	_, id := n.leader()
	return id, id == n.cfg.NodeID && n.raft.State() == raft.Leader
}

// leader is raft's leader address and id, except while this node is a candidate: raft keeps
// the last leader it knew during an election (a follower told to take over by a leadership
// transfer becomes a candidate without forgetting it), which would send work to a node that
// may be gone.
func (n *Node) leader() (addr, id string) {
	if st := n.raft.State(); st == raft.Candidate || st == raft.Shutdown {
		return "", ""
	}
	a, i := n.raft.LeaderWithID()
	return string(a), string(i)
}

// WaitLeader waits until the group has a leader that is ready (when this node, its broker
// leads), or ctx ends.
func (n *Node) WaitLeader(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		id, self := n.Leader()
		if id != "" && (!self || n.b.Leading()) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the queue leader: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// Voters reports how many voters the group's configuration has (0 when it cannot be read).
func (n *Node) Voters() int {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return 0
	}
	v := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			v++
		}
	}
	return v
}

// transferTimeout bounds the hand-over of the leadership when a leader closes.
const transferTimeout = 2 * time.Second

// handOver, on a leader with other voters, transfers the leadership to the most up-to-date
// of them before raft stops, so that the group does not wait an election timeout without a
// leader (a rolling restart). A transfer that fails or takes too long leaves the election to
// the others, as after a crash.
func (n *Node) handOver(ctx context.Context) {
	if n.raft == nil || n.raft.State() != raft.Leader || n.Voters() < 2 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, transferTimeout)
	defer cancel()
	f := n.raft.LeadershipTransfer()
	res := make(chan error, 1)
	go func() { res <- f.Error() }() // completes within raft's own transfer timeout (an election timeout)
	select {
	case err := <-res:
		if err != nil {
			n.log.Info("queue leadership transfer failed", "error", err)
			return
		}
		leader, _ := n.Leader()
		n.log.Info("queue leadership handed over", "to", leader)
	case <-ctx.Done():
		n.log.Info("queue leadership transfer timed out")
	}
}

// Close stops raft and closes its log; the broker is the caller's to close after it. It
// waits for the node's goroutines and is idempotent.
func (n *Node) Close(ctx context.Context) error {
	n.closeOnce.Do(func() {
		n.handOver(ctx)
		close(n.stop)
		var errs []error
		if n.raft != nil {
			done := make(chan error, 1)
			go func() { done <- n.raft.Shutdown().Error() }()
			select {
			case err := <-done:
				errs = append(errs, err)
			case <-ctx.Done():
				// raft's goroutines still read the log: closing it under them would panic them
				errs = append(errs, fmt.Errorf("shut down queue raft: %w", ctx.Err()), <-done)
			}
		}
		n.wg.Wait()
		errs = append(errs, n.closeTransport())
		if n.logStore != nil {
			errs = append(errs, n.logStore.Close())
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// closeTransport closes raft's transport, network or in-memory.
func (n *Node) closeTransport() error {
	if c, ok := n.transport.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// catchUp restores the newest snapshot when the store is behind it. Raft keeps a snapshot it
// received before handing it to the store, and on start (NoSnapshotRestoreOnStart) takes its
// index as applied: a node stopped or killed between the two would otherwise never apply the
// entries the snapshot stands for.
func (n *Node) catchUp(snaps raft.SnapshotStore) error {
	metas, err := snaps.List()
	if err != nil {
		return fmt.Errorf("open queue raft: list snapshots: %w", err)
	}
	if len(metas) == 0 || metas[0].Index <= n.b.AppliedIndex() {
		return nil
	}
	meta, rc, err := snaps.Open(metas[0].ID)
	if err != nil {
		return fmt.Errorf("open queue raft: snapshot %s: %w", metas[0].ID, err)
	}
	defer rc.Close()
	n.log.Warn("the queue store is behind the last raft snapshot: restoring it", "store_index", n.b.AppliedIndex(),
		"snapshot_index", meta.Index)
	if err := n.b.RestoreSnapshot(rc); err != nil {
		return fmt.Errorf("open queue raft: restore snapshot %s: %w", meta.ID, err)
	}
	return nil
}
