package gateway

import (
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mahou-go/mahou/bus/query"
	"github.com/mahou-go/mahou/bus/wire"
)

// Version is the version /api/version reports, the original's.
const Version = "0.0.1"

// Handler returns the server's HTTP handler: the websocket endpoint, the REST API,
// /metrics, /healthz and /readyz. Unknown paths get the original's 404 body.
func (s *Server) Handler() http.Handler {
	metricsHandler := promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") && !acceptsJSON(r) {
			writeJSON(w, http.StatusNotAcceptable, map[string]any{"errors": map[string]any{"detail": "Not Acceptable"}})
			return
		}
		switch route(r) {
		case "GET /":
			http.Redirect(w, r, "/gateway/websocket", http.StatusFound)
		case "GET /gateway/websocket":
			s.serveWebsocket(w, r)
		case "GET /api/version":
			writeJSON(w, http.StatusOK, map[string]any{"singyeong": Version, "api": "v1"})
		case "POST /api/v1/query":
			s.handleQuery(w, r)
		case "GET /metrics":
			metricsHandler.ServeHTTP(w, r)
		case "GET /healthz":
			writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
		case "GET /readyz":
			s.handleReady(w)
		default:
			s.serveExtension(w, r)
		}
	})
}

// serveExtension serves a route added with HandleHTTP, or the original's 404 body.
func (s *Server) serveExtension(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.routes.Handler(r); pattern == "" {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 404, "error": "not found"})
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/v1/") && !s.authorize(w, r) {
		return
	}
	s.routes.ServeHTTP(w, r)
}

func route(r *http.Request) string {
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	return method + " " + r.URL.Path
}

// acceptsJSON reports whether the Accept header allows a JSON answer, as the original's
// accepts ["json"] plug requires for /api.
func acceptsJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		switch mt {
		case "*/*", "application/*", "application/json":
			return true
		}
	}
	return false
}

func (s *Server) handleReady(w http.ResponseWriter) {
	if !s.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
}

// authorize applies the shared password to /api/v1 (raw Authorization header, no scheme) and
// the per-IP failure limit. It writes the refusal and returns false when the request may not
// go on.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Auth == "" {
		return true
	}
	ip := peerIP(r.RemoteAddr)
	if blocked, left := s.authLimit.blocked(ip); blocked {
		s.metrics.authRateLimited.Inc()
		w.Header().Set("Retry-After", strconv.Itoa(int(left.Seconds())+1))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"status": "error",
			"error": "too many failed attempts from this address, retry later"})
		return false
	}
	given, present := r.Header["Authorization"]
	if present && subtle.ConstantTimeCompare([]byte(given[0]), []byte(s.cfg.Auth)) == 1 {
		return true
	}
	if present {
		s.authLimit.fail(ip)
		s.metrics.authFailures.Inc()
	}
	writeJSON(w, http.StatusUnauthorized, map[string]any{"status": "error", "error": "not authorized"})
	return false
}

// handleQuery answers POST /api/v1/query: the clients the query in the body targets.
func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r) {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBodyBytes+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError("bad_body", "could not read the request body: "+err.Error()))
		return
	}
	if int64(len(body)) > s.cfg.MaxBodyBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError("body_too_large",
			fmt.Sprintf("the body must be at most %d bytes", s.cfg.MaxBodyBytes)))
		return
	}
	v, err := wire.Decode(wire.JSON, body, wire.Limits{MaxDepth: s.cfg.MaxDepth})
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError("invalid_json", "the body must be a JSON query object: "+err.Error()))
		return
	}
	q, err := query.Parse(v)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError("invalid_query", queryProblem(err)))
		return
	}
	writeJSON(w, http.StatusOK, s.queryClients(q))
}

func apiError(code, msg string) map[string]any {
	return map[string]any{"error": code, "message": msg}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := wire.AppendJSON(nil, v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = wire.AppendJSON(nil, apiError("internal", fmt.Errorf("%w: %v", errEncode, err).Error()))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
