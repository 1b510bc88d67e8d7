package crush

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Event is one change seen by a watch, or a progress report.
type Event struct {
	// Type is put, delete, fork, merge or revert; or progress, which says every change up to
	// Revision has been sent (and carries nothing else).
	Type     string    `json:"type"`
	Key      string    `json:"key"`
	Fork     string    `json:"fork"`
	Rev      uint64    `json:"rev"`
	Revision int64     `json:"revision"`
	Time     time.Time `json:"time,omitzero"`
	// Value is the key's value after the change; nil for a delete, when the watch asked for no
	// values, or when ValueCompacted.
	Value          []byte `json:"value,omitempty"`
	Deleted        bool   `json:"deleted,omitempty"`
	Purged         bool   `json:"purged,omitempty"`
	ValueCompacted bool   `json:"value_compacted,omitempty"`
}

// WatchOptions choose what a watch sees; nil watches every key of the default fork from now.
type WatchOptions struct {
	Fork string
	// Key watches one key; otherwise every key starting with Prefix ("" is every key). Giving
	// both is ErrInvalidArgument.
	Key    string
	Prefix string
	// FromRevision, when > 0, starts at that store revision (ErrCompacted if it is gone);
	// 0 starts after the current revision.
	FromRevision int64
	// NoValues leaves values out of the events.
	NoValues bool
	// ReconnectFor is how long the watch keeps trying to reconnect after its stream breaks
	// before it gives up with the last error; 0 means one minute.
	ReconnectFor time.Duration
}

// DefaultReconnectFor is how long a broken watch tries to reconnect by default.
const DefaultReconnectFor = time.Minute

// Watch streams the changes of a key or prefix in revision order (GET /v2/watch, server-sent
// events), including progress events. When the stream breaks it reconnects, to the next
// endpoint if need be, and resumes after the last revision it delivered (Last-Event-ID),
// without repeating or losing an event. The iteration ends when the context is done (without
// an error), when the consumer stops, or with an error: one that the first connection met,
// an error answer such as ErrCompacted, or the last error once reconnecting took longer than
// ReconnectFor.
//
//	for ev, err := range c.Watch(ctx, &crush.WatchOptions{Prefix: "app/"}) {
//		if err != nil {
//			return err
//		}
//		if ev.Type != "progress" {
//			fmt.Println(ev.Type, ev.Key, ev.Rev)
//		}
//	}
func (c *Client) Watch(ctx context.Context, opts *WatchOptions) iter.Seq2[Event, error] {
	o := WatchOptions{}
	if opts != nil {
		o = *opts
	}
	if o.ReconnectFor <= 0 {
		o.ReconnectFor = DefaultReconnectFor
	}
	return func(yield func(Event, error) bool) {
		w := &watcher{c: c, opts: o, resume: -1}
		w.run(ctx, yield)
	}
}

// watcher is the state of one watch iteration.
type watcher struct {
	c    *Client
	opts WatchOptions
	// resume is the last revision fully delivered (the Last-Event-ID to send); -1 before any.
	resume int64
	// partialRev and partialCount count the events delivered of a revision whose id has not
	// arrived yet; skip is how many of them a resumed stream sends again.
	partialRev   int64
	partialCount int
	skip         int
}

// Backoff between reconnection attempts.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

func (w *watcher) run(ctx context.Context, yield func(Event, error) bool) {
	connected := false
	var failingSince time.Time
	backoff := minBackoff
	for {
		resp, err := w.connect(ctx)
		if ctx.Err() != nil {
			if resp != nil {
				resp.Body.Close()
			}
			return
		}
		if err != nil {
			var ae *Error
			permanent := errors.As(err, &ae) && ae.StatusCode != http.StatusServiceUnavailable
			if failingSince.IsZero() {
				failingSince = time.Now()
			}
			if !connected || permanent || time.Since(failingSince) > w.opts.ReconnectFor {
				yield(Event{}, err)
				return
			}
			if sleep(ctx, backoff) != nil {
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		if !connected && w.resume < 0 && w.opts.FromRevision <= 0 {
			w.resume = headerInt(resp.Header, "X-Crush-Revision")
		}
		connected = true
		stop, got := w.read(resp.Body, yield)
		resp.Body.Close()
		if stop || ctx.Err() != nil {
			return
		}
		w.skip = w.partialCount
		if got {
			failingSince, backoff = time.Time{}, minBackoff
		}
		if sleep(ctx, backoff) != nil {
			return
		}
		if !got {
			backoff = min(2*backoff, maxBackoff)
		}
	}
}

// connect opens the event stream at the resume point.
func (w *watcher) connect(ctx context.Context) (*http.Response, error) {
	q := url.Values{}
	setFork(q, w.opts.Fork)
	if w.opts.Key != "" {
		q.Set("key", w.opts.Key)
	}
	if w.opts.Prefix != "" {
		q.Set("prefix", w.opts.Prefix)
	}
	if w.opts.NoValues {
		q.Set("values", "false")
	}
	h := http.Header{"Accept": {"text/event-stream"}}
	if w.resume >= 0 {
		h.Set("Last-Event-ID", strconv.FormatInt(w.resume, 10))
	} else if w.opts.FromRevision > 0 {
		q.Set("from_revision", strconv.FormatInt(w.opts.FromRevision, 10))
	}
	return w.c.send(ctx, call{method: http.MethodGet, path: "/v2/watch", query: q, header: h, idempotent: true})
}

// sseEvent is one server-sent event as read from the stream.
type sseEvent struct {
	name string
	id   string
	data []byte
}

// read delivers the events of one stream until it breaks (stop false) or the watch must stop
// (stop true); got reports whether the stream delivered any event.
func (w *watcher) read(body io.Reader, yield func(Event, error) bool) (stop, got bool) {
	br := bufio.NewReaderSize(body, 64<<10)
	var ev sseEvent
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return false, got
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if len(ev.data) > 0 || ev.id != "" {
				got = true
				if w.dispatch(ev, yield) {
					return true, got
				}
			}
			ev = sseEvent{}
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if len(ev.data) > 0 {
				ev.data = append(ev.data, '\n')
			}
			ev.data = append(ev.data, value...)
		case "id":
			ev.id = string(value)
		case "event":
			ev.name = string(value)
		}
	}
}

// dispatch hands one server-sent event to the consumer; true means stop.
func (w *watcher) dispatch(sse sseEvent, yield func(Event, error) bool) bool {
	if sse.name == "error" {
		e := &Error{Code: "watch_error", Message: "the watch failed"}
		var body struct {
			Code    string `json:"error"`
			Message string `json:"message"`
		}
		if json.Unmarshal(sse.data, &body) == nil && body.Code != "" {
			e.Code, e.Message = body.Code, body.Message
		}
		yield(Event{}, e)
		return true
	}
	var ev Event
	if err := json.Unmarshal(sse.data, &ev); err != nil {
		yield(Event{}, fmt.Errorf("decode watch event: %w", err))
		return true
	}
	if ev.Type == "progress" {
		w.delivered(ev.Revision)
		return !yield(ev, nil)
	}
	if w.skip > 0 && ev.Revision == w.partialRev {
		w.skip--
	} else {
		w.skip = 0
		if ev.Revision != w.partialRev {
			w.partialRev, w.partialCount = ev.Revision, 0
		}
		w.partialCount++
		if !yield(ev, nil) {
			return true
		}
	}
	if n, err := strconv.ParseInt(sse.id, 10, 64); err == nil {
		w.delivered(n)
	}
	return false
}

// delivered records that every event up to revision r has been delivered.
func (w *watcher) delivered(r int64) {
	w.resume = max(w.resume, r)
	if w.partialRev <= r {
		w.partialCount = 0
	}
}
