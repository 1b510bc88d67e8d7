package cluster

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/internal/peer"
)

// remoteClient stands for a client of another node in this node's gateway: routing hands it
// what goes to that client, and it queues that on the link to the client's node.
type remoteClient struct {
	c    *Cluster
	node string
	key  bus.ClientKey

	// Guarded by Cluster.mu.
	client     *bus.Client
	since      int64 // when it identified on its node (ms): the earlier of two claims of a key wins
	registered bool  // false: a claim of a key another client holds
}

var _ bus.Recipient = (*remoteClient)(nil)

// Deliver implements bus.Recipient.
func (r *remoteClient) Deliver(d *bus.Delivery) bool {
	l := r.c.link(r.node)
	return l != nil && l.deliver(r.key, d)
}

func errWrongPeer(want, got string) error {
	return fmt.Errorf("%w: dialed %s, reached %s (is the node id unique?)", peer.ErrProtocol, want, got)
}

// acceptLoop serves the links other nodes open to this one.
func (c *Cluster) acceptLoop() {
	defer c.wg.Done()
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.wg.Add(1)
		go c.serveInbound(conn.(*peer.Conn))
	}
}

// serveInbound reads one node's link until it ends. The node's clients are registered for as
// long as the link lasts: when it ends they are removed, and a new link sends them all again.
func (c *Cluster) serveInbound(conn *peer.Conn) {
	defer c.wg.Done()
	defer conn.Close()
	id := conn.Peer.Node
	if !c.inMembership(id) {
		// a node links only once membership knows it; one that gossip has not brought here yet
		// dials again, and a stranger never gets its clients registered
		c.log.Debug("link from a node that is not a member: refused", "node", id, "remote", conn.RemoteAddr())
		return
	}
	session, ok := c.beginSession(id, conn)
	if !ok {
		return
	}
	// This link carries the node's answers to what this one sent it: when it ends, some may
	// be lost, as when the link to the node ends (the hooks run after the session ended).
	defer c.peerDown(id)
	defer c.endSession(id, session)
	r := bufio.NewReaderSize(conn, 64<<10)
	for {
		body, err := readFrame(r)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.log.Debug("link from peer ended", "node", id, "error", err)
			}
			return
		}
		f, err := decodeFrame(body)
		if err != nil {
			c.log.Warn("undecodable frame from peer: dropping its link", "node", id, "error", err)
			return
		}
		c.handleFrame(id, session, f)
	}
}

func readFrame(r *bufio.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > maxFrameBytes {
		return nil, fmt.Errorf("%w: frame of %d bytes", ErrCorrupt, n)
	}
	// grow with the bytes that arrive rather than trusting the header with 64 MiB at once
	var body bytes.Buffer
	body.Grow(int(min(n, 64<<10)))
	if _, err := io.CopyN(&body, r, int64(n)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return body.Bytes(), nil
}

func (c *Cluster) handleFrame(from string, session uint64, f frame) {
	c.metrics.framesIn.Inc()
	switch f.typ {
	case frameDeliver:
		c.gw.DeliverLocal(f.key, f.delivery)
	case frameMessage:
		if h := c.handlers[f.kind]; h != nil {
			h(from, f.payload)
		}
	default:
		c.mu.Lock()
		if m := c.members[from]; m != nil && m.session == session {
			c.applyStateLocked(m, f)
		}
		c.mu.Unlock()
	}
}

// inMembership reports whether memberlist knows node id as alive or suspect.
func (c *Cluster) inMembership(id string) bool {
	for _, n := range c.ml.Members() {
		if n.Name == id {
			return true
		}
	}
	return false
}

// beginSession makes conn the current link from node id, ending the previous one (and
// dropping the clients it brought).
func (c *Cluster) beginSession(id string, conn *peer.Conn) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || id == c.cfg.NodeID {
		return 0, false
	}
	m := c.memberLocked(id)
	c.endSessionLocked(m, m.session)
	c.sessions++
	m.session, m.in, m.synced = c.sessions, conn, false
	return m.session, true
}

func (c *Cluster) endSession(id string, session uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.members[id]; m != nil {
		c.endSessionLocked(m, session)
	}
}

// endSessionLocked ends m's inbound link if it is still session, and removes the clients it
// brought. c.mu must be held.
func (c *Cluster) endSessionLocked(m *member, session uint64) {
	if session == 0 || m.session != session {
		return
	}
	if m.in != nil {
		m.in.Close()
	}
	m.session, m.in, m.synced = 0, nil, false
	clients := m.clients
	m.clients = make(map[bus.ClientKey]*remoteClient)
	for _, rc := range clients {
		c.dropClaimLocked(rc)
	}
	if len(clients) > 0 {
		c.log.Info("clients of a peer no longer matched", "node", m.id, "clients", len(clients))
	}
}

// applyStateLocked applies an upsert, remove or synced frame of m. c.mu must be held.
func (c *Cluster) applyStateLocked(m *member, f frame) {
	switch f.typ {
	case frameUpsert:
		if rc := m.clients[f.client.Key]; rc != nil {
			rc.client, rc.since = f.client, f.since
			if rc.registered {
				if err := c.gw.UpdateRemote(f.client, rc); err != nil {
					c.log.Error("update of a remote client failed", "node", m.id, "error", err)
				}
			}
			return
		}
		rc := &remoteClient{c: c, node: m.id, key: f.client.Key, client: f.client, since: f.since}
		m.clients[rc.key] = rc
		c.claimLocked(rc)
	case frameRemove:
		if rc := m.clients[f.key]; rc != nil {
			delete(m.clients, f.key)
			c.dropClaimLocked(rc)
		}
	case frameSynced:
		m.synced = true
	}
}

// claimLocked registers a new remote client, or, when its key is taken, files it as a claim
// and settles which of the claims holds the key. c.mu must be held.
func (c *Cluster) claimLocked(rc *remoteClient) {
	err := c.gw.AddRemote(rc.client, rc)
	if err == nil {
		rc.registered = true
		return
	}
	if !errors.Is(err, bus.ErrAlreadyRegistered) {
		c.log.Error("registering a remote client failed", "node", rc.node, "error", err)
	}
	c.contested[rc.key]++
	c.resolveLocked(rc.key)
}

// dropClaimLocked removes a remote client or its claim; when it held a contested key, the best
// remaining claim takes it. c.mu must be held.
func (c *Cluster) dropClaimLocked(rc *remoteClient) {
	if !rc.registered {
		c.uncontestLocked(rc.key)
		return
	}
	rc.registered = false
	c.gw.RemoveRemote(rc.key, rc)
	if c.contested[rc.key] > 0 {
		c.resolveLocked(rc.key)
	}
}

func (c *Cluster) uncontestLocked(k bus.ClientKey) {
	if c.contested[k]--; c.contested[k] <= 0 {
		delete(c.contested, k)
	}
}

// resolveLocked settles a key that two nodes registered at once (each checked its own view,
// and the other's news was still on its way): the client that identified first holds it,
// ties going to the smaller node id; the other is closed with op 8 "already registered" by its
// own node, which every node decides alike. c.mu must be held.
func (c *Cluster) resolveLocked(k bus.ClientKey) {
	var best *remoteClient
	for _, m := range c.members {
		if rc := m.clients[k]; rc != nil && (best == nil || earlier(rc.since, rc.node, best.since, best.node)) {
			best = rc
		}
	}
	if best == nil || best.registered {
		return
	}
	if t, held := c.gw.Finder().Get(k); held {
		if c.gw.IsLocal(t.Recipient) {
			if earlier(best.since, best.node, c.sinceOf(k), c.cfg.NodeID) {
				c.log.Info("client id registered on two nodes at once: closing the later one here",
					"app", k.App, "client", k.ID, "other_node", best.node)
				c.gw.Kick(k, gateway.AlreadyRegistered(k)) // its departure settles the key again
			}
			return
		}
		holder, ok := t.Recipient.(*remoteClient)
		if !ok || !earlier(best.since, best.node, holder.since, holder.node) {
			return
		}
		holder.registered = false
		c.gw.RemoveRemote(k, holder)
		c.contested[k]++
	}
	if err := c.gw.AddRemote(best.client, best); err == nil {
		best.registered = true
		c.uncontestLocked(k)
	}
}

func earlier(since int64, node string, than int64, thanNode string) bool {
	return since < than || (since == than && node < thanNode)
}

// localChanged replicates a change of a local client to every node. It runs on the client's
// read loop, after the gateway applied the change.
func (c *Cluster) localChanged(cl *bus.Client, gone bool) {
	var frame []byte
	if gone {
		c.localMu.Lock()
		delete(c.local, cl.Key)
		c.localMu.Unlock()
		frame = encodeRemove(cl.Key)
	} else {
		var err error
		if frame, err = encodeUpsert(cl, c.sinceOf(cl.Key)); err != nil {
			c.log.Error("cannot encode a client for the other nodes", "error", err)
			return
		}
	}
	c.linksMu.RLock()
	for _, l := range c.links {
		l.send(frame)
	}
	c.linksMu.RUnlock()
	c.mu.Lock()
	if c.contested[cl.Key] > 0 {
		c.resolveLocked(cl.Key)
	}
	c.mu.Unlock()
}

// sinceOf returns when the local client k identified, in ms, noting now if it is new.
func (c *Cluster) sinceOf(k bus.ClientKey) int64 {
	c.localMu.Lock()
	defer c.localMu.Unlock()
	s, ok := c.local[k]
	if !ok {
		s = time.Now().UnixMilli()
		c.local[k] = s
	}
	return s
}
