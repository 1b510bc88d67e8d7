package queueapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/queue"
	"github.com/mahou-go/mahou/bus/wire"
)

// Limits of the REST routes.
const (
	DefaultDeadLetterPage = 100
	MaxDeadLetterPage     = 1000
	// MaxIDs bounds the ids of one requeue or purge.
	MaxIDs = 10000
)

// rest serves the queue routes; each handler returns a value to send as JSON, or an error that
// errorStatus maps to a status and a code.
type rest struct {
	b    *queue.Broker
	opts Options
}

// leaderOnly serves h while the broker leads, and hands the request to opts.Forward when it
// does not and Forward is set.
func (h *rest) leaderOnly(next http.Handler) http.Handler {
	if h.opts.Forward == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.b.Leading() {
			next.ServeHTTP(w, r)
			return
		}
		h.opts.Forward.ServeHTTP(w, r)
	})
}

type handlerFunc func(r *http.Request) (any, error)

func registerREST(srv *gateway.Server, b *queue.Broker, opts Options) error {
	h := &rest{b: b, opts: opts}
	routes := []struct {
		pattern string
		f       handlerFunc
	}{
		{"GET /api/v1/queues", h.list},
		{"GET /api/v1/queues/{queue}", h.one},
		{"GET /api/v1/queues/{queue}/dlq", h.deadLetters},
		{"POST /api/v1/queues/{queue}/dlq/requeue", h.requeueDead},
		{"POST /api/v1/queues/{queue}/dlq/purge", h.purgeDead},
		{"POST /api/v1/queues/{queue}/purge", h.purge},
	}
	for _, rt := range routes {
		if err := srv.HandleHTTP(rt.pattern, h.leaderOnly(serve(rt.f))); err != nil {
			return err
		}
	}
	return srv.HandleHTTP("GET /api/v1/backup/queues", http.HandlerFunc(h.backup))
}

// backup answers GET /api/v1/backup/queues with a consistent copy of the queue database, a
// file to save as queues.db. Content-Length is the copy's exact size, so a copy cut short by a
// failure midway shows as a short read, never as a complete file.
func (h *rest) backup(w http.ResponseWriter, r *http.Request) {
	started := false
	_, err := h.b.Backup(w, func(size int64) {
		started = true
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="queues.db"`)
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	})
	if err != nil && !started {
		status, code := errorStatus(err)
		writeJSON(w, status, map[string]any{"error": code, "message": err.Error()})
	}
}

func serve(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := f(r)
		if err != nil {
			status, code := errorStatus(err)
			writeJSON(w, status, map[string]any{"error": code, "message": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// errorStatus is the one table of the queue routes' errors: HTTP status and stable code.
func errorStatus(err error) (int, string) {
	switch {
	case errors.Is(err, bus.ErrQueueNotFound):
		return http.StatusNotFound, "queue_not_found"
	case errors.Is(err, ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge, "body_too_large"
	case errors.Is(err, ErrInvalidJSON):
		return http.StatusBadRequest, "invalid_json"
	case errors.Is(err, bus.ErrInvalidQueue):
		return http.StatusBadRequest, "invalid_request"
	case errors.Is(err, queue.ErrClosed), errors.Is(err, queue.ErrStore), errors.Is(err, queue.ErrUnsupported),
		errors.Is(err, queue.ErrNotLeader), errors.Is(err, queue.ErrNoLeader),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "unavailable"
	}
	return http.StatusInternalServerError, "internal"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := wire.AppendJSON(nil, v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = wire.AppendJSON(nil, map[string]any{"error": "internal", "message": fmt.Sprintf("encode answer: %v", err)})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func statsView(s bus.QueueStats) map[string]any {
	return map[string]any{"queue": s.Name, "depth": int64(s.Depth()), "ready": int64(s.Ready),
		"delayed": int64(s.Delayed), "in_flight": int64(s.InFlight), "dead_lettered": int64(s.Dead),
		"waiting_consumers": int64(s.Waiting), "bytes": s.Bytes}
}

// list answers GET /api/v1/queues: {"queues": [stats...]}, sorted by name.
func (h *rest) list(*http.Request) (any, error) {
	stats := h.b.Stats()
	out := make([]any, len(stats))
	for i, s := range stats {
		out[i] = statsView(s)
	}
	return map[string]any{"queues": out}, nil
}

// one answers GET /api/v1/queues/{queue}.
func (h *rest) one(r *http.Request) (any, error) {
	s, err := h.b.QueueStats(r.PathValue("queue"))
	if err != nil {
		return nil, err
	}
	return statsView(s), nil
}

// deadLetters answers GET /api/v1/queues/{queue}/dlq?limit=&after=: a page of dead letters,
// oldest first, and the cursor of the next page (null on the last).
func (h *rest) deadLetters(r *http.Request) (any, error) {
	name := r.PathValue("queue")
	limit, err := intParam(r, "limit", DefaultDeadLetterPage, 1, MaxDeadLetterPage)
	if err != nil {
		return nil, err
	}
	after, err := intParam(r, "after", 0, 0, 1<<62)
	if err != nil {
		return nil, err
	}
	dead, next, err := h.b.DeadLetters(name, uint64(after), int(limit))
	if err != nil {
		return nil, err
	}
	items := make([]any, len(dead))
	for i, d := range dead {
		items[i] = map[string]any{"id": d.ID, "target": d.Target, "nonce": d.Nonce, "payload": d.Payload,
			"enqueued_at": d.EnqueuedAt, "dead_at": d.DeadAt, "deliveries": int64(d.Deliveries), "reason": d.Reason}
	}
	var cursor any
	if next != 0 {
		cursor = strconv.FormatUint(next, 10)
	}
	return map[string]any{"queue": name, "dead_letters": items, "next": cursor}, nil
}

func intParam(r *http.Request, name string, def, lo, hi int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%w: %s: must be an integer from %d to %d", bus.ErrInvalidQueue, name, lo, hi)
	}
	return n, nil
}

// requeueDead answers POST /api/v1/queues/{queue}/dlq/requeue with an optional body
// {"ids": [...]} (absent or null: every dead letter): {"queue", "requeued": n}.
func (h *rest) requeueDead(r *http.Request) (any, error) {
	ids, err := h.ids(r)
	if err != nil {
		return nil, err
	}
	n, err := h.b.RequeueDead(r.Context(), r.PathValue("queue"), ids)
	if err != nil {
		return nil, err
	}
	return map[string]any{"queue": r.PathValue("queue"), "requeued": int64(n)}, nil
}

// purgeDead answers POST /api/v1/queues/{queue}/dlq/purge, with the body of requeueDead:
// {"queue", "purged": n}.
func (h *rest) purgeDead(r *http.Request) (any, error) {
	ids, err := h.ids(r)
	if err != nil {
		return nil, err
	}
	n, err := h.b.PurgeDead(r.Context(), r.PathValue("queue"), ids)
	if err != nil {
		return nil, err
	}
	return map[string]any{"queue": r.PathValue("queue"), "purged": int64(n)}, nil
}

// purge answers POST /api/v1/queues/{queue}/purge: {"queue", "purged": n} (ready and delayed
// messages; in-flight ones and dead letters stay).
func (h *rest) purge(r *http.Request) (any, error) {
	n, err := h.b.Purge(r.Context(), r.PathValue("queue"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"queue": r.PathValue("queue"), "purged": int64(n)}, nil
}

// ids reads the optional {"ids": [...]} body.
func (h *rest) ids(r *http.Request) ([]string, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, h.opts.MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read body: %v", bus.ErrInvalidQueue, err)
	}
	if int64(len(body)) > h.opts.MaxBodyBytes {
		return nil, fmt.Errorf("%w: the body must be at most %d bytes", ErrBodyTooLarge, h.opts.MaxBodyBytes)
	}
	return ParseIDs(body, h.opts.MaxDepth)
}

// ParseIDs parses the body of the requeue and purge routes: empty, or a JSON object whose
// optional "ids" is null (every dead letter) or a list of message ids. Errors wrap
// bus.ErrInvalidQueue, or ErrInvalidJSON for bytes that are not JSON.
func ParseIDs(body []byte, maxDepth int) ([]string, error) {
	if len(body) == 0 {
		return nil, nil
	}
	v, err := wire.Decode(wire.JSON, body, wire.Limits{MaxDepth: maxDepth})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the body must be an object such as {\"ids\": [\"...\"]}", bus.ErrInvalidQueue)
	}
	raw, ok := m["ids"].([]any)
	if !ok {
		if m["ids"] == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: ids: must be a list of message ids or null", bus.ErrInvalidQueue)
	}
	if len(raw) > MaxIDs {
		return nil, fmt.Errorf("%w: ids: at most %d per request", bus.ErrInvalidQueue, MaxIDs)
	}
	ids := make([]string, len(raw))
	for i, x := range raw {
		s, ok := x.(string)
		if !ok || s == "" || len(s) > queue.MaxIDBytes {
			return nil, fmt.Errorf("%w: ids[%d]: must be a message id", bus.ErrInvalidQueue, i)
		}
		ids[i] = s
	}
	return ids, nil
}
