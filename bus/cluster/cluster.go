package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/internal/peer"
)

// Cluster makes one bus of several nodes: it keeps the membership (memberlist), replicates
// the records of this node's clients to every other node and registers theirs in this node's
// gateway, carries deliveries to clients of other nodes over one link per peer, balances
// clients between nodes, and carries messages for other parts (the queues) between nodes.
type Cluster struct {
	cfg     Config
	log     *slog.Logger
	gw      *gateway.Server
	hub     *peer.Hub
	self    peer.Identity
	metrics *metrics

	// handlers, downHooks and statuses are built before Open, read-only after.
	handlers  map[byte]func(from string, payload []byte)
	downHooks []func(node string)
	statuses  map[string]func() any

	ml *memberlist.Memberlist
	ln *peer.Listener

	// mu guards members, contested, sessions, opened and closed. It is taken before the gateway's locks:
	// registering a remote client runs the gateway's presence hooks (the queues) under it.
	// Nothing holding a lock of the gateway or the queues takes it.
	mu        sync.Mutex
	members   map[string]*member
	contested map[bus.ClientKey]int // keys with claims waiting for another holder to go
	sessions  uint64                // numbers the inbound links
	opened    bool
	closed    bool

	localMu sync.Mutex // guards local; a leaf
	local   map[bus.ClientKey]int64

	linksMu sync.RWMutex // guards links; taken below mu and the broker's lock, before outLink.mu
	links   map[string]*outLink

	events    *eventQueue
	announced atomic.Int64 // the client count in this node's memberlist metadata
	apiAddr   atomic.Value // string: the API address, set by Open

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// member is what this node knows of another node: its address, its state, and the clients it
// replicated to this node over its current inbound link (session).
type member struct {
	id      string
	run     string // the run its meta announces
	api     string
	state   string // alive, suspect, dead, left
	session uint64 // the current inbound link's number; 0: none
	in      *peer.Conn
	synced  bool // the current inbound link delivered every client of the member
	clients map[bus.ClientKey]*remoteClient
}

// New validates cfg and builds a cluster over gw, whose peer connections come through hub
// (served by the gateway at peer.Route). It registers its hooks and the /api/v1/cluster route
// on gw, so it must be called before gw.Start; it starts nothing.
func New(cfg Config, gw *gateway.Server, hub *peer.Hub, log *slog.Logger) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if hub.Self().Node != cfg.NodeID {
		return nil, fmt.Errorf("%w: the peer hub is node %q, the cluster node %q", ErrConfig, hub.Self().Node, cfg.NodeID)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{
		cfg: cfg, log: log, gw: gw, hub: hub, metrics: newMetrics(),
		self:     hub.Self(),
		handlers: make(map[byte]func(string, []byte)), statuses: make(map[string]func() any),
		members: make(map[string]*member), contested: make(map[bus.ClientKey]int),
		local: make(map[bus.ClientKey]int64), links: make(map[string]*outLink),
		events: newEventQueue(), stop: make(chan struct{}),
	}
	err := errors.Join(gw.OnLocalClient(c.localChanged), gw.HandleHTTP(statusRoute, c.statusHandler()),
		gw.RegisterMetrics(c.metrics.collectors(c)...))
	if err != nil {
		return nil, fmt.Errorf("new cluster: %w", err)
	}
	return c, nil
}

// NewRunID returns a random id for this run of a node (peer.Identity.Run).
func NewRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// Self is this node's identity: its id and the id of this run.
func (c *Cluster) Self() peer.Identity { return c.self }

// Key returns the cluster key (nil: none).
func (c *Cluster) Key() []byte { return c.cfg.Key }

// Handle registers f for the messages of kind that other nodes Send to this one. f runs on the
// goroutine reading the sender's link, in the order the sender sent them; it must not block.
// It must be called before Open.
func (c *Cluster) Handle(kind byte, f func(from string, payload []byte)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.opened || c.closed {
		return fmt.Errorf("handle messages %d: %w", kind, ErrState)
	}
	c.handlers[kind] = f
	return nil
}

// OnPeerDown registers f to be called when a link to or from a node is lost (the node died,
// left, or a connection broke): what was sent to it, or its answers, may not have arrived. It
// may run more than once for one failure. f must not block. It must be called before Open.
func (c *Cluster) OnPeerDown(f func(node string)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.opened || c.closed {
		return fmt.Errorf("on peer down: %w", ErrState)
	}
	c.downHooks = append(c.downHooks, f)
	return nil
}

// AddStatus adds a section to GET /api/v1/cluster: f's value under name. It must be called
// before Open.
func (c *Cluster) AddStatus(name string, f func() any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.opened || c.closed {
		return fmt.Errorf("add status %s: %w", name, ErrState)
	}
	c.statuses[name] = f
	return nil
}

// Send queues payload for the handler of kind on node, after everything sent to it before. It
// reports false when there is no link to node (not a member, or the link is down); a true does
// not mean it arrived (see OnPeerDown).
func (c *Cluster) Send(node string, kind byte, payload []byte) bool {
	l := c.link(node)
	return l != nil && l.send(encodeMessage(kind, payload))
}

// Open joins the cluster: it starts memberlist (and joins Config.Join in the background) and
// accepts the links of the other nodes. The gateway must be listening (gateway.Listen), so
// that its address is known.
func (c *Cluster) Open() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.opened || c.closed {
		return fmt.Errorf("open cluster: %w", ErrState)
	}
	api := c.cfg.APIAddr
	if api == "" {
		api = c.gw.Addr()
	}
	if err := checkDialable(api); err != nil {
		return fmt.Errorf("open cluster: api addr: %w", err)
	}
	addr, err := net.ResolveTCPAddr("tcp", api)
	if err != nil {
		return fmt.Errorf("open cluster: api addr: %w", err)
	}
	c.apiAddr.Store(api)
	c.ln = c.hub.Listen(linkProto, addr)
	if c.ml, err = c.startMemberlist(); err != nil {
		c.ln.Close()
		return fmt.Errorf("open cluster: %w", err)
	}
	c.opened = true
	c.wg.Add(4)
	go c.acceptLoop()
	go c.eventLoop()
	go c.balanceLoop()
	go c.relinkLoop()
	if len(c.cfg.Join) > 0 {
		c.wg.Add(1)
		go c.joinLoop()
	}
	if len(c.cfg.Key) == 0 {
		c.log.Warn("cluster without a key: gossip is not encrypted and peers are not authenticated (set --cluster-key)")
	}
	c.log.Info("cluster open", "node", c.cfg.NodeID, "cluster_addr", c.ClusterAddr(), "api_addr", api)
	return nil
}

func checkDialable(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("%w: %s is not an address other nodes can dial: set --advertise-addr", ErrConfig, addr)
	}
	return nil
}

// ClusterAddr returns the address other members join at (host:port), or "" before Open.
func (c *Cluster) ClusterAddr() string {
	if c.ml == nil {
		return ""
	}
	n := c.ml.LocalNode()
	return net.JoinHostPort(n.Addr.String(), fmt.Sprint(n.Port))
}

// APIAddr returns the API address the other nodes reach this node at (set by Open).
func (c *Cluster) APIAddr() string {
	s, _ := c.apiAddr.Load().(string)
	return s
}

// joinLoop joins one of Config.Join, retrying until one answers or the cluster closes.
func (c *Cluster) joinLoop() {
	defer c.wg.Done()
	backoff := 50 * time.Millisecond
	for {
		n, err := c.ml.Join(c.cfg.Join)
		if n > 0 {
			c.log.Info("joined cluster", "via", c.cfg.Join, "members", c.ml.NumMembers())
			return
		}
		c.log.Warn("join cluster failed, retrying", "join", c.cfg.Join, "error", err, "retry_in", backoff)
		select {
		case <-c.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// Close leaves the cluster (the other members hear it at once), closes every link and waits
// for the cluster's goroutines. Close the gateway first, so that its clients' departures reach
// the other nodes over the links. It is idempotent.
func (c *Cluster) Close(ctx context.Context) error {
	c.closeOnce.Do(func() { c.closeErr = c.shutdown(ctx) })
	return c.closeErr
}

func (c *Cluster) shutdown(ctx context.Context) error {
	c.mu.Lock()
	opened := c.opened
	c.closed = true
	c.mu.Unlock()
	if !opened {
		return nil
	}
	var errs []error
	timeout := time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	if err := c.ml.Leave(timeout); err != nil {
		// No member acknowledged in time (they are stopping too, or unreachable): they will
		// declare this node dead instead of left, which ends its clients and links alike.
		c.log.Warn("leave cluster: no member acknowledged; they will see this node fail rather than leave", "error", err)
	}
	close(c.stop)
	c.ln.Close()
	c.linksMu.Lock()
	links := c.links
	c.links = map[string]*outLink{}
	c.linksMu.Unlock()
	for _, l := range links {
		l.close()
	}
	c.mu.Lock()
	for _, m := range c.members {
		if m.in != nil {
			m.in.Close()
		}
	}
	c.mu.Unlock()
	if err := c.ml.Shutdown(); err != nil {
		errs = append(errs, fmt.Errorf("shut down memberlist: %w", err))
	}
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		<-done
		errs = append(errs, fmt.Errorf("close cluster: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

// link returns the outbound link to node, or nil.
func (c *Cluster) link(node string) *outLink {
	c.linksMu.RLock()
	defer c.linksMu.RUnlock()
	return c.links[node]
}

// peerDown runs the OnPeerDown hooks.
func (c *Cluster) peerDown(node string) {
	for _, f := range c.downHooks {
		f(node)
	}
}

// WaitSynced waits until every live member's clients have reached this node, or ctx ends.
func (c *Cluster) WaitSynced(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if c.synced() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the members' clients: %w", ctx.Err())
		case <-t.C:
		}
	}
}

func (c *Cluster) synced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.members {
		if m.state == stateAlive && !m.synced {
			return false
		}
	}
	return true
}
