package gateway

import (
	"fmt"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/query"
)

// Session is what a Handler may do with the client that sent a dispatch. Its methods are safe
// to call from the handler only (they run on the client's read loop).
type Session interface {
	// Key names the sending client.
	Key() bus.ClientKey
	// Reply sends the client an op 4 dispatch with event t and data d.
	Reply(t string, d any)
	// Invalid sends the client an op 3 error; the connection stays open.
	Invalid(msg string, extra any)
}

var _ Session = (*conn)(nil)

// Handler handles one dispatch event type (an op 4 frame with that t) from an identified,
// non-restricted client; d is the frame's d. It runs inline on the client's read loop, so the
// client's frames stay in order, and it must not block for long.
type Handler func(s Session, d any)

// Handle adds a dispatch event type, such as the queue events: it is how features beyond
// routing plug into the protocol. It must be called before Start; the built-in events
// (UPDATE_METADATA, SEND, BROADCAST, QUERY_NODES) cannot be replaced.
func (s *Server) Handle(t string, h Handler) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return fmt.Errorf("handle %s: %w", t, ErrServerState)
	}
	if _, builtin := dispatchTable()[t]; builtin {
		return fmt.Errorf("handle %s: %w", t, ErrBuiltinEvent)
	}
	s.dispatch[t] = func(c *conn, _ map[string]any, d any) { h(c, d) }
	return nil
}

// OnPresence registers f to be called after a client is registered (connected true) or
// removed (false), on the goroutine of that client's connection; f must not block. It must be
// called before Start.
func (s *Server) OnPresence(f func(key bus.ClientKey, connected bool)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return fmt.Errorf("on presence: %w", ErrServerState)
	}
	s.presence = append(s.presence, f)
	return nil
}

// Finder returns the server's routing view of its clients, for handlers that route (queues
// evaluate each message's own target with query.Route over it).
func (s *Server) Finder() query.Finder { return s.index }

func (s *Server) presenceChanged(key bus.ClientKey, connected bool) {
	for _, f := range s.presence {
		f(key, connected)
	}
}

// Key implements Session.
func (c *conn) Key() bus.ClientKey { return c.key }

// Reply implements Session.
func (c *conn) Reply(t string, d any) {
	f := c.frame(opDispatch, d)
	f.T = t
	c.send(f)
}

// Invalid implements Session.
func (c *conn) Invalid(msg string, extra any) { c.invalid(msg, extra) }
