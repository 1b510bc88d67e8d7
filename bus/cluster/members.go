package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/mahou-go/mahou/bus"
)

// The states of a member, as memberlist knows them.
const (
	stateAlive   = "alive"
	stateSuspect = "suspect"
	stateDead    = "dead"
	stateLeft    = "left"
)

// meta is what a node announces in its memberlist metadata (at most 512 bytes): the version of
// this format, the id of its run (a restarted node has a new one), the address of its API (the
// links, raft and forwarded requests dial it) and its client count.
type meta struct {
	V       int    `json:"v"`
	Run     string `json:"run"`
	API     string `json:"api"`
	Clients int    `json:"clients"`
}

const metaVersion = 1

// deadNodeReclaim is how long a member must have been dead before a node of the same id on
// another address replaces it.
const deadNodeReclaim = 5 * time.Second

func (c *Cluster) startMemberlist() (*memberlist.Memberlist, error) {
	mc := memberlist.DefaultLANConfig()
	mc.Name = c.cfg.NodeID
	host, port, err := splitHostPort(c.cfg.BindAddr)
	if err != nil {
		return nil, err
	}
	mc.BindAddr, mc.BindPort = host, port
	if c.cfg.AdvertiseAddr != "" {
		if mc.AdvertiseAddr, mc.AdvertisePort, err = splitHostPort(c.cfg.AdvertiseAddr); err != nil {
			return nil, err
		}
	}
	if len(c.cfg.Key) > 0 {
		mc.SecretKey = c.cfg.Key
	}
	if c.cfg.ProbeInterval > 0 {
		mc.ProbeInterval = c.cfg.ProbeInterval
		mc.ProbeTimeout = min(mc.ProbeTimeout, c.cfg.ProbeInterval/2)
	}
	if c.cfg.SuspicionMult > 0 {
		mc.SuspicionMult = c.cfg.SuspicionMult
	}
	if c.cfg.GossipInterval > 0 {
		mc.GossipInterval = c.cfg.GossipInterval
	}
	// A node that died and comes back on another address (a new IP, a new port) may take its
	// name back once it has been dead this long; memberlist's default never lets it.
	mc.DeadNodeReclaimTime = deadNodeReclaim
	mc.Delegate = &delegate{c: c}
	mc.Events = &eventDelegate{q: c.events}
	mc.LogOutput = &logWriter{log: c.log}
	return memberlist.Create(mc)
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	return host, port, err
}

// delegate gives memberlist this node's metadata; the bus gossips nothing else.
type delegate struct{ c *Cluster }

func (d *delegate) NodeMeta(limit int) []byte {
	b, _ := json.Marshal(meta{V: metaVersion, Run: d.c.self.Run, API: d.c.APIAddr(), Clients: d.c.metaClients()})
	if len(b) > limit {
		return nil
	}
	return b
}

func (d *delegate) NotifyMsg([]byte)                           {}
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *delegate) LocalState(join bool) []byte                { return nil }
func (d *delegate) MergeRemoteState(buf []byte, join bool)     {}

// event is a membership change, copied out of memberlist's callback.
type event struct {
	node  string
	state string
	meta  meta
}

// eventQueue hands memberlist's callbacks to the event loop without ever blocking memberlist.
type eventQueue struct {
	mu    sync.Mutex // guards items; a leaf
	items []event
	wake  chan struct{}
}

func newEventQueue() *eventQueue { return &eventQueue{wake: make(chan struct{}, 1)} }

func (q *eventQueue) push(e event) {
	q.mu.Lock()
	q.items = append(q.items, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue) take() []event {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

// eventDelegate is memberlist's EventDelegate.
type eventDelegate struct{ q *eventQueue }

func (e *eventDelegate) NotifyJoin(n *memberlist.Node)   { e.q.push(toEvent(n)) }
func (e *eventDelegate) NotifyLeave(n *memberlist.Node)  { e.q.push(toEvent(n)) }
func (e *eventDelegate) NotifyUpdate(n *memberlist.Node) { e.q.push(toEvent(n)) }

func toEvent(n *memberlist.Node) event {
	ev := event{node: n.Name, state: stateName(n.State)}
	_ = json.Unmarshal(n.Meta, &ev.meta) // a member without our meta has no API: no link
	return ev
}

func stateName(s memberlist.NodeStateType) string {
	switch s {
	case memberlist.StateAlive:
		return stateAlive
	case memberlist.StateSuspect:
		return stateSuspect
	case memberlist.StateLeft:
		return stateLeft
	}
	return stateDead
}

// eventLoop applies membership changes: links to members that join, and the end of the
// clients and links of members that die or leave.
func (c *Cluster) eventLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			return
		case <-c.events.wake:
		}
		for _, ev := range c.events.take() {
			if ev.node != c.cfg.NodeID {
				c.apply(ev)
			}
		}
	}
}

func (c *Cluster) apply(ev event) {
	c.mu.Lock()
	m := c.memberLocked(ev.node)
	restarted := m.run != "" && ev.meta.Run != "" && m.run != ev.meta.Run
	moved := m.api != ev.meta.API
	m.state = ev.state
	if ev.meta.Run != "" {
		m.run, m.api = ev.meta.Run, ev.meta.API
	}
	gone := ev.state == stateDead || ev.state == stateLeft
	if gone || restarted {
		// Clients of a node that is gone, or of its previous run, are no longer matched; a
		// node that comes back sends its clients again when it links.
		c.endSessionLocked(m, m.session)
	}
	c.mu.Unlock()
	if gone {
		c.log.Info("member gone", "node", ev.node, "state", ev.state)
		c.dropLink(ev.node)
		return
	}
	if moved || restarted {
		c.dropLink(ev.node)
	}
	if m.api != "" {
		c.ensureLink(ev.node, m.api)
	}
}

// memberLocked returns the member named id, creating it. c.mu must be held.
func (c *Cluster) memberLocked(id string) *member {
	m := c.members[id]
	if m == nil {
		m = &member{id: id, state: stateAlive, clients: make(map[bus.ClientKey]*remoteClient)}
		c.members[id] = m
	}
	return m
}

// ensureLink starts the outbound link to node unless one runs.
func (c *Cluster) ensureLink(node, addr string) {
	c.linksMu.Lock()
	defer c.linksMu.Unlock()
	if c.links[node] != nil {
		return
	}
	select {
	case <-c.stop:
		return
	default:
	}
	l := newOutLink(c, node, addr)
	c.links[node] = l
	c.wg.Add(1)
	go l.run()
}

// dropLink stops the outbound link to node, if any.
func (c *Cluster) dropLink(node string) {
	c.linksMu.Lock()
	l := c.links[node]
	delete(c.links, node)
	c.linksMu.Unlock()
	if l != nil {
		l.close()
	}
}

// metaClients is the client count this node last announced.
func (c *Cluster) metaClients() int { return int(c.announced.Load()) }

// updateMeta announces a new client count; memberlist gossips it.
func (c *Cluster) updateMeta(clients int) {
	if int(c.announced.Swap(int64(clients))) == clients {
		return
	}
	if err := c.ml.UpdateNode(gossipTimeout); err != nil {
		c.log.Debug("update member metadata", "error", err)
	}
}

// logWriter routes memberlist's log lines into slog at their level.
type logWriter struct{ log *slog.Logger }

func (w *logWriter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelInfo
	for prefix, l := range map[string]slog.Level{"[DEBUG]": slog.LevelDebug, "[INFO]": slog.LevelDebug,
		"[WARN]": slog.LevelWarn, "[ERR]": slog.LevelError} {
		if i := bytes.Index(line, []byte(prefix)); i >= 0 {
			level = l
			line = bytes.TrimSpace(line[i+len(prefix):])
			break
		}
	}
	w.log.Log(context.Background(), level, string(line), "component", "memberlist")
	return len(p), nil
}

// Timings of relinkLoop.
const (
	relinkInterval = 2 * time.Second
	relinkChecks   = 2 // consecutive checks a member stays unlinked before a push-pull
)

// relinkLoop pushes this node's state to members that memberlist lists alive but that have
// not linked to this node for relinkChecks checks in a row. That happens to a node that
// restarted on a new address before the others declared its previous run dead: they refused
// the new address as a conflict, and memberlist does not announce it again by itself until its
// next periodic sync (30 s or more). Once they hold the old address dead for deadNodeReclaim, a
// push-pull carries the new one, and they link to it.
func (c *Cluster) relinkLoop() {
	defer c.wg.Done()
	t := time.NewTicker(relinkInterval)
	defer t.Stop()
	unlinked := map[string]int{}
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		var addrs []string
		seen := map[string]bool{}
		for _, n := range c.ml.Members() {
			if n.Name == c.cfg.NodeID {
				continue
			}
			seen[n.Name] = true
			c.mu.Lock()
			m := c.members[n.Name]
			linked := m != nil && m.in != nil
			c.mu.Unlock()
			if linked {
				delete(unlinked, n.Name)
				continue
			}
			if unlinked[n.Name]++; unlinked[n.Name] >= relinkChecks {
				addrs = append(addrs, n.Address())
				delete(unlinked, n.Name)
			}
		}
		for name := range unlinked {
			if !seen[name] {
				delete(unlinked, name)
			}
		}
		if len(addrs) > 0 {
			c.log.Info("members alive but not linked to this node: pushing this node's state to them", "addrs", addrs)
			if _, err := c.ml.Join(addrs); err != nil {
				c.log.Debug("push state to unlinked members", "error", err)
			}
		}
	}
}
