package gateway

import (
	"fmt"

	"github.com/coder/websocket"

	"github.com/mahou-go/mahou/bus"
)

// This file is the gateway's side of a cluster: the clients of other nodes, registered here
// with a Recipient that carries deliveries to their node, and the local clients' records, which
// the cluster replicates to the other nodes. Routing sees local and remote clients alike.

// OnLocalClient registers f to be called after every change to the record of a client
// connected to this server: identify (gone false), metadata updates, heartbeats and queue
// changes (gone false, with the new record), and removal (gone true, with the last record).
// Calls about one client come from its connection's read loop, in the order of the changes; f
// must not block nor call into the server. It must be called before Start.
func (s *Server) OnLocalClient(f func(c *bus.Client, gone bool)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return fmt.Errorf("on local client: %w", ErrServerState)
	}
	s.clientHooks = append(s.clientHooks, f)
	return nil
}

func (s *Server) localChanged(c *bus.Client, gone bool) {
	for _, f := range s.clientHooks {
		f(c, gone)
	}
}

// AddRemote registers a client connected to another node; what is routed to it goes to r. The
// subscribers of this server hear CLIENT_CONNECTED, and the presence hooks run. It returns
// bus.ErrAlreadyRegistered when the key is taken.
func (s *Server) AddRemote(c *bus.Client, r bus.Recipient) error {
	if err := s.index.Add(c, r); err != nil {
		return fmt.Errorf("add remote client %s/%s: %w", c.Key.App, c.Key.ID, err)
	}
	s.announce("CLIENT_CONNECTED", c.Key.App)
	s.presenceChanged(c.Key, true)
	return nil
}

// UpdateRemote replaces the record of a remote client registered with r, and runs the metadata
// hooks. It returns bus.ErrUnknownClient when the key is not registered with r.
func (s *Server) UpdateRemote(c *bus.Client, r bus.Recipient) error {
	if err := s.index.Replace(c, r); err != nil {
		return fmt.Errorf("update remote client %s/%s: %w", c.Key.App, c.Key.ID, err)
	}
	s.metadataChanged(c.Key)
	return nil
}

// RemoveRemote removes the remote client with key k if it is registered with r, announces
// CLIENT_DISCONNECTED to this server's subscribers and runs the presence hooks. It reports
// whether it removed anything.
func (s *Server) RemoveRemote(k bus.ClientKey, r bus.Recipient) bool {
	if !s.index.Remove(k, r) {
		return false
	}
	s.announce("CLIENT_DISCONNECTED", k.App)
	s.presenceChanged(k, false)
	return true
}

// DeliverLocal hands d to the client with key k if it is connected to this server, and reports
// whether its connection took it.
func (s *Server) DeliverLocal(k bus.ClientKey, d *bus.Delivery) bool {
	c, ok := s.localConn(k)
	return ok && c.Deliver(d)
}

// IsLocal reports whether r is a connection of this server.
func (s *Server) IsLocal(r bus.Recipient) bool {
	_, ok := r.(*conn)
	return ok
}

// LocalClients returns the records of the clients connected to this server.
func (s *Server) LocalClients() []*bus.Client {
	var out []*bus.Client
	for _, t := range s.index.All() {
		if _, local := t.Recipient.(*conn); local {
			out = append(out, t.Client)
		}
	}
	return out
}

// Goodbye sends op 7 goodbye {"reason": reason} to the local client with key k and closes its
// connection, as the original does to move clients to other nodes. The client is removed once
// its connection has closed; a client that reconnects elsewhere at once waits for that (see
// releaseWait). It reports whether k was connected here.
func (s *Server) Goodbye(k bus.ClientKey, reason string) bool {
	c, ok := s.localConn(k)
	if !ok {
		return false
	}
	c.send(c.frame(opGoodbye, map[string]any{"reason": reason}))
	c.closeWith(websocket.StatusNormalClosure, reason)
	return true
}

// Kick closes the local client with key k with op 8 {"error": msg}: the cluster uses it for
// the later of two clients that registered the same id on two nodes at once. It reports
// whether k was connected here.
func (s *Server) Kick(k bus.ClientKey, msg string) bool {
	c, ok := s.localConn(k)
	if !ok {
		return false
	}
	s.metrics.fatalSent.Inc()
	c.log.Info("closing with op 8", "error", msg, "app", k.App, "client", k.ID)
	c.send(c.errorFrame(opError, msg, nil))
	c.closeWith(websocket.StatusNormalClosure, "")
	return true
}

// AlreadyRegistered is the op 8 text for a client id that is taken.
func AlreadyRegistered(k bus.ClientKey) string { return alreadyRegistered(k) }

func (s *Server) localConn(k bus.ClientKey) (*conn, bool) {
	t, ok := s.index.Get(k)
	if !ok {
		return nil, false
	}
	c, local := t.Recipient.(*conn)
	return c, local
}
