package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/query"
	"github.com/mahou-go/mahou/bus/wire"
)

// Server is a singyeong server. NewServer builds it, Start listens and serves, Close stops it.
type Server struct {
	cfg       Config
	log       *slog.Logger
	index     *query.Index
	metrics   *metrics
	authLimit *failureLimiter
	dispatch  map[string]dispatchFunc     // built before Start, read-only after
	presence  []func(bus.ClientKey, bool) // built before Start, read-only after
	// metadataHooks, clientHooks and routes are built before Start, read-only after.
	metadataHooks []func(bus.ClientKey)
	clientHooks   []func(c *bus.Client, gone bool)
	routes        *http.ServeMux
	httpSrv       *http.Server
	ready         atomic.Bool
	open          atomic.Int64 // websocket connections being served
	connWG        sync.WaitGroup
	serveDone     chan struct{}
	closeOnce     sync.Once
	closeErr      error

	mu      sync.Mutex // guards ln, conns, started, closed, and dispatch, presence, metadataHooks, clientHooks, routes until Start; taken before conn.mu, never inside Index's lock
	ln      net.Listener
	conns   map[*conn]struct{}
	started bool
	closed  bool
}

// NewServer validates cfg and builds a server; it starts nothing.
func NewServer(cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:       cfg,
		log:       log,
		index:     query.NewIndex(),
		metrics:   newMetrics(),
		authLimit: newFailureLimiter(cfg.AuthFailures, cfg.AuthFailureWindow),
		dispatch:  dispatchTable(),
		routes:    http.NewServeMux(),
		conns:     make(map[*conn]struct{}),
		serveDone: make(chan struct{}),
	}
	s.httpSrv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// Listen creates the data directory and binds Config.Addr without serving yet, so that Addr
// is known (a cluster advertises it) before Start. Start calls it when it was not called.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listenLocked()
}

func (s *Server) listenLocked() error {
	if s.started || s.closed {
		return ErrServerState
	}
	if s.ln != nil {
		return nil
	}
	if err := os.MkdirAll(s.cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s.ln = ln
	return nil
}

// Start listens on Config.Addr (unless Listen did) and serves in the background.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.listenLocked(); err != nil {
		return err
	}
	ln := s.ln
	s.started = true
	s.ready.Store(true)
	go func() {
		defer close(s.serveDone)
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "error", err)
		}
	}()
	s.log.Info("singyeong serving", "addr", ln.Addr().String())
	return nil
}

// Addr returns the address the server listens on, or "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops accepting, says goodbye (op 7) to every client, closes their connections and
// waits for every goroutine the server started, or for ctx. It is idempotent.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.shutdown(ctx) })
	return s.closeErr
}

func (s *Server) shutdown(ctx context.Context) error {
	s.ready.Store(false)
	s.mu.Lock()
	s.closed = true
	started := s.started
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	ln := s.ln
	s.mu.Unlock()
	var errs []error
	if !started && ln != nil {
		errs = append(errs, ignoreClosed(ln.Close()))
	}
	if started {
		if err := s.httpSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down http: %w", err))
		}
	}
	for _, c := range conns {
		c.send(c.frame(opGoodbye, map[string]any{"reason": errServerStopping}))
		c.closeWith(websocket.StatusNormalClosure, errServerStopping)
	}
	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		if started {
			<-s.serveDone
		}
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		for _, c := range conns {
			c.ws.CloseNow()
		}
		<-done
		errs = append(errs, fmt.Errorf("close connections: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

func (s *Server) now() time.Time { return time.Now() }

func (s *Server) nowMillis() int64 { return time.Now().UnixMilli() }

// serveWebsocket upgrades the request and runs the connection until it closes.
func (s *Server) serveWebsocket(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "not_websocket",
			"message": "this endpoint speaks websocket: send a websocket upgrade request"})
		return
	}
	enc, ok := wire.ParseEncoding(r.URL.Query().Get("encoding"))
	if !ok {
		s.metrics.rejected.WithLabelValues("encoding").Inc()
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "invalid_encoding",
			"message": "encoding must be json, msgpack or etf"})
		return
	}
	if s.open.Add(1) > int64(s.cfg.MaxConnections) {
		s.open.Add(-1)
		s.metrics.rejected.WithLabelValues("limit").Inc()
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "too_many_connections",
			"message": fmt.Sprintf("the server serves at most %d connections; retry later", s.cfg.MaxConnections)})
		return
	}
	bw := &batchingWriter{ResponseWriter: w}
	ws, err := websocket.Accept(bw, r, &websocket.AcceptOptions{OriginPatterns: s.cfg.OriginPatterns})
	if err != nil || bw.conn == nil {
		s.open.Add(-1)
		s.metrics.rejected.WithLabelValues("upgrade").Inc()
		return
	}
	ws.SetReadLimit(s.cfg.MaxFrameBytes + 1)
	c := newConn(s, ws, bw.conn, enc, peerIP(r.RemoteAddr))
	if !s.track(c) {
		s.open.Add(-1)
		ws.Close(websocket.StatusGoingAway, errServerStopping)
		return
	}
	// The connection is hijacked: the read loop runs in a goroutine of its own, owned by the
	// server (connWG), so that the HTTP server's goroutine, its request and its stack are
	// released for the connection's lifetime.
	go func() {
		defer s.open.Add(-1)
		defer s.untrack(c)
		s.metrics.connections.Inc()
		defer s.metrics.connections.Dec()
		c.serve(context.Background())
	}()
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.connWG.Add(1)
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.connWG.Done()
}

// peerIP formats the peer address as the original does: dotted IPv4, and IPv6 as eight
// zero-padded lower-case groups.
func peerIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	groups := make([]string, 8)
	for i := range groups {
		groups[i] = fmt.Sprintf("%02x%02x", ip[2*i], ip[2*i+1])
	}
	return strings.Join(groups, ":")
}

// subscribers matches the clients that asked for CLIENT_CONNECTED/DISCONNECTED, in every
// application; restricted clients never do.
var subscribers = &bus.Query{Ops: []bus.Op{{Op: bus.OpEq, Path: []string{bus.KeyReceiveClientUpdates}, Value: true}}}

// announce sends CLIENT_CONNECTED or CLIENT_DISCONNECTED about app to the subscribers
// connected to this server. Every node of a cluster announces every client it learns about to
// its own subscribers, so each subscriber hears of each client once.
func (s *Server) announce(event, app string) {
	var d *bus.Delivery
	n := 0
	for _, t := range s.index.Find(subscribers) {
		if _, local := t.Recipient.(*conn); !local {
			continue
		}
		if d == nil {
			d = &bus.Delivery{Event: event, Payload: map[string]any{"app": app}, At: s.nowMillis()}
		}
		t.Recipient.Deliver(d)
		n++
	}
	s.metrics.delivered(event).Add(float64(n))
}

// queryClients returns the clients q targets, as /api/v1/query shows them: the whole match set,
// with optional and selector applied.
func (s *Server) queryClients(q *bus.Query) []any {
	targets := query.Route(s.index, q, query.All)
	out := make([]any, len(targets))
	for i, t := range targets {
		out[i] = clientView(t.Client)
	}
	return out
}

func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
