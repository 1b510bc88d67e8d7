package queueapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/etf"
	"github.com/mahou-go/mahou/bus/gateway"
	"github.com/mahou-go/mahou/bus/queue"
)

// The op 3 texts of the queue events. The first two are the original's; the others are for
// failures the original could not have.
const (
	errInvalidDispatch = "invalid dispatch payload"
	errInvalidQuery    = "invalid query"
	errQueueFull       = "queue full"
	errUnavailable     = "queue unavailable"
)

// Options configure Register.
type Options struct {
	// MaxBodyBytes bounds the bodies of the REST routes (the gateway's --max-body-bytes).
	MaxBodyBytes int64
	// MaxDepth bounds the nesting of decoded REST bodies.
	MaxDepth int
	// Forward, when set, serves the queue REST routes (all but the backup) while this node's
	// broker does not lead the queue group: in a cluster, it passes them to the leader.
	Forward http.Handler
}

// Register adds the queue events, the queue REST routes and the service's presence and
// metadata hooks to srv, and the broker's metrics to its /metrics. Call it before srv.Start.
func Register(srv *gateway.Server, svc *queue.Service, opts Options) error {
	h := &handlers{srv: srv, b: svc}
	events := map[string]gateway.Handler{
		"QUEUE": h.queue, "QUEUE_REQUEST": h.request, "QUEUE_REQUEST_CANCEL": h.cancel,
		"QUEUE_ACK": h.ack, "QUEUE_NACK": h.nack,
	}
	for t, f := range events {
		if err := srv.Handle(t, f); err != nil {
			return fmt.Errorf("register queues: %w", err)
		}
	}
	hooks := []error{
		srv.OnPresence(func(k bus.ClientKey, connected bool) {
			if !connected {
				svc.ClientLeft(k)
			}
		}),
		srv.OnMetadata(svc.ClientChanged),
		srv.RegisterMetrics(svc.Broker().Collectors()...),
		registerREST(srv, svc.Broker(), opts),
	}
	if err := errors.Join(hooks...); err != nil {
		return fmt.Errorf("register queues: %w", err)
	}
	return nil
}

type handlers struct {
	srv *gateway.Server
	b   *queue.Service
}

// queue enqueues. Its outcome, QUEUE_CONFIRM {"queue": name} or an op 3, is sent once the
// message (or, for a refusal, everything before it) is on disk.
func (h *handlers) queue(s gateway.Session, d any) {
	r, err := Parse("QUEUE", d)
	if err != nil {
		h.later(s, errInvalidDispatch, s.ErrorInfo(reason(err)))
		return
	}
	info := s.ErrorInfo("")
	_, err = h.b.Enqueue(r.Queue, r.Target, r.Nonce, r.Payload, func(err error) {
		if err != nil {
			s.Invalid(enqueueError(err), withReason(info, err))
			return
		}
		s.Reply("QUEUE_CONFIRM", etf.Struct{{Key: "queue", Value: r.Queue}})
	})
	if err != nil {
		h.later(s, enqueueError(err), withReason(info, err))
	}
}

// enqueueError is the op 3 text of a QUEUE that was not confirmed.
func enqueueError(err error) string {
	switch {
	case errors.Is(err, bus.ErrInvalidQuery):
		return errInvalidQuery
	case errors.Is(err, bus.ErrQueueFull):
		return errQueueFull
	}
	return errUnavailable
}

// later sends an op 3 about a QUEUE frame in its place among the outcomes of the frames before
// it: after their commits.
func (h *handlers) later(s gateway.Session, msg string, info any) {
	h.b.Sync(func(error) { s.Invalid(msg, info) })
}

func (h *handlers) request(s gateway.Session, d any) {
	r, err := Parse("QUEUE_REQUEST", d)
	if err == nil {
		err = h.b.Request(r.Queue, s.Key())
	}
	if err != nil {
		h.refuse(s, err)
		return
	}
	h.showQueue(s.Key(), r.Queue, true)
}

func (h *handlers) cancel(s gateway.Session, d any) {
	r, err := Parse("QUEUE_REQUEST_CANCEL", d)
	if err != nil {
		h.refuse(s, err)
		return
	}
	h.b.Cancel(r.Queue, s.Key())
	h.showQueue(s.Key(), r.Queue, false)
}

// showQueue keeps the client's "queues" (shown by /api/v1/query) to the queues it requested
// from and did not cancel, each once: the original never removed a name, and repeated it.
func (h *handlers) showQueue(k bus.ClientKey, queue string, requested bool) {
	_ = h.srv.UpdateQueues(k, func(qs []string) []string {
		qs = slices.DeleteFunc(qs, func(q string) bool { return q == queue })
		if requested {
			qs = append(qs, queue)
		}
		return qs
	}) // a client that just left has no queues to show
}

func (h *handlers) ack(s gateway.Session, d any) {
	r, err := Parse("QUEUE_ACK", d)
	if err == nil {
		err = h.b.Ack(r.Queue, r.ID)
	}
	if err != nil {
		h.refuse(s, err)
	}
}

func (h *handlers) nack(s gateway.Session, d any) {
	r, err := Parse("QUEUE_NACK", d)
	if err == nil {
		err = h.b.Nack(r.Queue, r.ID, s.Key(), r.Delay)
	}
	if err != nil {
		h.refuse(s, err)
	}
}

// refuse answers a request, cancel, ACK or NACK that was not taken.
func (h *handlers) refuse(s gateway.Session, err error) {
	msg := errInvalidDispatch
	if !errors.Is(err, bus.ErrInvalidQueue) {
		msg = errUnavailable
	}
	s.Invalid(msg, s.ErrorInfo(reason(err)))
}

// reason is what an error says after its sentinel's text: "enqueue: target: invalid query:
// ops: must be a list" says "ops: must be a list".
func reason(err error) string {
	msg := err.Error()
	for _, sentinel := range []error{bus.ErrInvalidQueue, bus.ErrInvalidQuery, bus.ErrQueueFull} {
		if !errors.Is(err, sentinel) {
			continue
		}
		if _, after, ok := strings.Cut(msg, sentinel.Error()+": "); ok {
			return after
		}
	}
	return msg
}

// withReason sets the reason of an ErrorInfo value.
func withReason(info any, err error) any {
	s, ok := info.(etf.Struct)
	if !ok {
		return info
	}
	s = slices.Clone(s)
	for i := range s {
		if s[i].Key == "reason" {
			s[i].Value = reason(err)
		}
	}
	return s
}

// Request is a parsed queue dispatch.
type Request struct {
	Queue   string
	ID      string
	Target  any
	Nonce   any
	Payload any
	Delay   time.Duration
}

// Parse checks the d of a queue event t and returns what it asks for. The original's shapes:
// QUEUE {queue, target, nonce, payload} (target must be present; nonce and payload default to
// null, where the original refused a QUEUE without nonce), QUEUE_REQUEST and
// QUEUE_REQUEST_CANCEL {queue}, QUEUE_ACK {queue, id}, and QUEUE_NACK {queue, id, delay?} with
// delay in ms. Errors wrap bus.ErrInvalidQueue and say what is wrong.
func Parse(t string, d any) (Request, error) {
	m, ok := d.(map[string]any)
	if !ok {
		return Request{}, fmt.Errorf("%w: d: must be a map", bus.ErrInvalidQueue)
	}
	var r Request
	var err error
	if r.Queue, err = field(m, "queue", queue.MaxNameBytes); err != nil {
		return Request{}, err
	}
	switch t {
	case "QUEUE":
		target, ok := m["target"]
		if !ok {
			return Request{}, fmt.Errorf("%w: target: missing (null targets every client)", bus.ErrInvalidQueue)
		}
		r.Target, r.Nonce, r.Payload = target, m["nonce"], m["payload"]
	case "QUEUE_ACK", "QUEUE_NACK":
		if r.ID, err = field(m, "id", queue.MaxIDBytes); err != nil {
			return Request{}, err
		}
		if t == "QUEUE_NACK" {
			r.Delay, err = delay(m["delay"])
		}
	}
	return r, err
}

func field(m map[string]any, key string, maxBytes int) (string, error) {
	s, ok := m[key].(string)
	if !ok || s == "" || len(s) > maxBytes {
		return "", fmt.Errorf("%w: %s: must be a non-empty string of at most %d bytes", bus.ErrInvalidQueue, key, maxBytes)
	}
	if key == "queue" {
		return s, queue.CheckName(s)
	}
	return s, nil
}

// maxDelayMillis keeps a delay within time.Duration; the broker applies its own, lower, limit.
const maxDelayMillis = int64(time.Duration(1<<63-1) / time.Millisecond)

func delay(v any) (time.Duration, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case int64:
		if x >= 0 && x <= maxDelayMillis {
			return time.Duration(x) * time.Millisecond, nil
		}
	}
	return 0, fmt.Errorf("%w: delay: must be a non-negative integer (milliseconds)", bus.ErrInvalidQueue)
}
