package gateway

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/etf"
	"github.com/mahou-go/mahou/bus/query"
)

// Session is what a Handler may do with the client that sent a dispatch.
type Session interface {
	// Key names the sending client.
	Key() bus.ClientKey
	// Reply sends the client an op 4 dispatch with event t and data d. It is safe to call from
	// any goroutine, also after the handler returned (a confirmation sent once something is on
	// disk, say); after the connection closed it does nothing.
	Reply(t string, d any)
	// Invalid sends the client an op 3 error; the connection stays open. Like Reply, it is safe
	// to call from any goroutine.
	Invalid(msg string, extra any)
	// ErrorInfo returns the extra_info of an op 3 about the dispatch being handled: the frame as
	// the original's internal payload ({"op": "dispatch", "t", "d", "ts"}) plus "reason". Call
	// it from the handler itself (it reads the frame being handled); the value may be sent
	// later.
	ErrorInfo(reason string) any
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
	s.dispatch[t] = func(c *conn, m map[string]any, d any) {
		c.handling = m
		defer func() { c.handling = nil }()
		h(c, d)
	}
	return nil
}

// HandleHTTP adds a route to the server's HTTP API. pattern is an http.ServeMux pattern with a
// method, such as "GET /api/v1/queues/{queue}"; the built-in routes win over it. Routes under
// /api/ get the same treatment as the built-in ones: the Accept check, and for /api/v1/ the
// shared password and its per-IP failure limit, before h runs. Paths nothing answers get the
// original's 404 body. It must be called before Start.
func (s *Server) HandleHTTP(pattern string, h http.Handler) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return fmt.Errorf("handle http %s: %w", pattern, ErrServerState)
	}
	if method, _, ok := strings.Cut(pattern, " "); !ok || method == "" || strings.HasPrefix(method, "/") {
		return fmt.Errorf("handle http %q: %w: the pattern needs a method", pattern, ErrConfig)
	}
	defer func() {
		// ServeMux panics on a malformed or conflicting pattern; report it as an error.
		if r := recover(); r != nil {
			err = fmt.Errorf("handle http %q: %w: %v", pattern, ErrConfig, r)
		}
	}()
	s.routes.Handle(pattern, h)
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

// OnMetadata registers f to be called after a client's UPDATE_METADATA was applied (routing
// sees the new metadata when f runs), on the goroutine of that client's connection; f must not
// block. Heartbeats, which only touch last_heartbeat_time, do not call it. It must be called
// before Start.
func (s *Server) OnMetadata(f func(key bus.ClientKey)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return fmt.Errorf("on metadata: %w", ErrServerState)
	}
	s.metadataHooks = append(s.metadataHooks, f)
	return nil
}

// RegisterMetrics adds collectors to the server's /metrics.
func (s *Server) RegisterMetrics(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := s.metrics.registry.Register(c); err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	return nil
}

// Finder returns the server's routing view of its clients, for handlers that route (queues
// evaluate each message's own target over it).
func (s *Server) Finder() query.Finder { return s.index }

// UpdateQueues replaces the queue names the client with key k is shown with (the "queues" of
// /api/v1/query and QUERY_NODES) by f(current). f must not call into the server. It returns
// bus.ErrUnknownClient when k is not connected to this server.
func (s *Server) UpdateQueues(k bus.ClientKey, f func([]string) []string) error {
	t, ok := s.index.Get(k)
	if _, local := t.Recipient.(*conn); !ok || !local {
		return fmt.Errorf("update queues: %w", bus.ErrUnknownClient)
	}
	updated, err := s.index.Update(k, func(old *bus.Client) *bus.Client {
		n := *old
		n.Queues = f(slices.Clone(old.Queues))
		return &n
	})
	if err != nil {
		return fmt.Errorf("update queues: %w", err)
	}
	s.localChanged(updated, false)
	return nil
}

func (s *Server) presenceChanged(key bus.ClientKey, connected bool) {
	for _, f := range s.presence {
		f(key, connected)
	}
}

func (s *Server) metadataChanged(key bus.ClientKey) {
	for _, f := range s.metadataHooks {
		f(key)
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

// ErrorInfo implements Session.
func (c *conn) ErrorInfo(reason string) any {
	m := c.handling
	return etf.Struct{{Key: "op", Value: etf.Atom("dispatch")}, {Key: "t", Value: m["t"]},
		{Key: "d", Value: m["d"]}, {Key: "ts", Value: m["ts"]}, {Key: "reason", Value: reason}}
}
