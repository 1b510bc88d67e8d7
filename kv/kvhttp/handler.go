package kvhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mahou-go/mahou/kv"
)

// Config configures a Handler.
type Config struct {
	// Store serves every route. Required.
	Store kv.Store
	// Cluster, when set, adds replication state to /v2/status.
	Cluster kv.Cluster
	// Limits bound keys, values and multi-key commands; zero fields take kv's defaults.
	Limits kv.Limits
	// MaxBodyBytes bounds JSON request bodies (fork, merge, txn...). Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// WatchProgressInterval is how often a watch sends a progress event. Default 10s.
	WatchProgressInterval time.Duration
	// Logger receives request errors; nil discards them.
	Logger *slog.Logger
	// Registry receives HTTP metrics and serves /metrics; nil serves an empty registry.
	Registry *prometheus.Registry
	// Version is reported by /v2/status.
	Version string
}

// Defaults of Config.
const (
	DefaultMaxBodyBytes          = 4 << 20
	DefaultWatchProgressInterval = 10 * time.Second
	// maxV1Keys caps GET /keys, which the original answered unpaged.
	maxV1Keys = 100000
)

// Handler is crush's HTTP API.
type Handler struct {
	cfg    Config
	store  kv.Store
	limits kv.Limits
	log    *slog.Logger
	mux    *http.ServeMux

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

var _ http.Handler = (*Handler)(nil)

// New builds the handler and registers its routes and metrics.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("new handler: no store")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.WatchProgressInterval <= 0 {
		cfg.WatchProgressInterval = DefaultWatchProgressInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	h := &Handler{cfg: cfg, store: cfg.Store, limits: cfg.Limits.WithDefaults(), log: cfg.Logger, mux: http.NewServeMux()}
	h.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "crush_http_requests_total", Help: "HTTP requests by route and status code.",
	}, []string{"route", "code"})
	h.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "crush_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
	}, []string{"route"})
	if err := cfg.Registry.Register(h.requests); err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	if err := cfg.Registry.Register(h.duration); err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	h.handle("GET /v2/kv/{key...}", "v2_get", h.getKey)
	h.handle("HEAD /v2/kv/{key...}", "v2_get", h.getKey)
	h.handle("PUT /v2/kv/{key...}", "v2_put", h.putKey)
	h.handle("DELETE /v2/kv/{key...}", "v2_delete", h.deleteKey)
	h.handle("GET /v2/history/{key...}", "v2_history", h.history)
	h.handle("GET /v2/diff/{key...}", "v2_diff", h.diff)
	h.handle("POST /v2/revert/{key...}", "v2_revert", h.revert)
	h.handle("POST /v2/fork", "v2_fork", h.fork)
	h.handle("GET /v2/forks", "v2_forks", h.forks)
	h.handle("POST /v2/merge", "v2_merge", h.merge)
	h.handle("POST /v2/txn", "v2_txn", h.txn)
	h.handle("GET /v2/keys", "v2_keys", h.keys)
	h.handle("POST /v2/compact", "v2_compact", h.compact)
	h.handle("GET /v2/retention", "v2_retention", h.getRetention)
	h.handle("PUT /v2/retention", "v2_retention", h.putRetention)
	h.handle("GET /v2/status", "v2_status", h.status)
	h.handle("GET /v2/members", "v2_members", h.listMembers)
	h.handle("POST /v2/members", "v2_members", h.addMember)
	h.handle("DELETE /v2/members/{id}", "v2_members", h.removeMember)
	h.handle("POST /v2/members/{id}/promote", "v2_members", h.promoteMember)
	h.mux.HandleFunc("GET /v2/snapshot", h.instrument("v2_snapshot", h.snapshot))
	h.handle("/v2/", "v2_unknown", h.unknownV2)
	h.mux.HandleFunc("GET /v2/watch", h.instrument("v2_watch", h.watch))
	h.mux.HandleFunc("GET /healthz", h.instrument("healthz", h.healthz))
	h.mux.HandleFunc("GET /readyz", h.instrument("readyz", h.readyz))
	h.mux.Handle("GET /metrics", promhttp.HandlerFor(h.cfg.Registry, promhttp.HandlerOpts{}))
	h.mux.HandleFunc("/{path...}", h.instrument("v1", h.v1))
	// without this, "/v2/" would redirect a v1 key named "v2"
	h.mux.HandleFunc("/v2", h.instrument("v1", h.v1))
}

// apiFunc is a v2 handler: it returns a value to encode as JSON, or an error.
type apiFunc func(w http.ResponseWriter, r *http.Request) (any, error)

func (h *Handler) handle(pattern, route string, fn apiFunc) {
	h.mux.HandleFunc(pattern, h.instrument(route, func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(w, r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if v != nil {
			writeJSON(w, http.StatusOK, v)
		}
	}))
}

// statusRecorder remembers the status code for metrics.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (h *Handler) instrument(route string, fn http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				h.log.Error("handler panic", "route", route, "panic", p)
				if rec.code == 0 {
					h.writeError(rec, r, fmt.Errorf("panic: %v", p))
				}
			}
			code := rec.code
			if code == 0 {
				code = http.StatusOK
			}
			h.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
			if route != "v2_watch" {
				h.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
			}
		}()
		fn(rec, r)
	}
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPIError(err)
	if ae.Status >= 500 && ae.Code != "not_leader" && ae.Code != "unavailable" {
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if ae.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, ae.Status, ae.body())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

func (h *Handler) unknownV2(w http.ResponseWriter, r *http.Request) (any, error) {
	for _, p := range []string{"/v2/kv/", "/v2/history/", "/v2/diff/", "/v2/revert/", "/v2/fork", "/v2/merge", "/v2/txn", "/v2/keys", "/v2/compact", "/v2/retention", "/v2/status", "/v2/watch", "/v2/members", "/v2/snapshot"} {
		if r.URL.Path == p || strings.HasPrefix(r.URL.Path, p) && strings.HasSuffix(p, "/") {
			return nil, &apiError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
				Message: fmt.Sprintf("%s is not allowed on %s: see docs/api/crush.md for the methods of this route", r.Method, r.URL.Path)}
		}
	}
	return nil, &apiError{Status: http.StatusNotFound, Code: "route_not_found",
		Message: fmt.Sprintf("no route %s %s: see docs/api/crush.md", r.Method, r.URL.Path)}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// linearize makes a read observe every acknowledged write, unless the client asked for a
// serializable (local) read.
func (h *Handler) linearize(r *http.Request) error {
	switch c := r.URL.Query().Get("consistency"); c {
	case "", "linearizable", "l":
		return h.store.Linearize(r.Context())
	case "serializable", "s":
		return nil
	default:
		return badRequest("invalid_consistency", "consistency %q: use linearizable (default) or serializable", c)
	}
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when this node can serve linearizable reads now.
func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := h.store.Linearize(ctx); err != nil {
		ae := toAPIError(err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not_ready", "error": ae.Code, "message": ae.Message})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
