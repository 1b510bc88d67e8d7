package kvhttp

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mahou-go/mahou/kv"
)

// watchBatch bounds how many events one read of the store returns.
const watchBatch = 1000

type eventJSON struct {
	Type           string    `json:"type"`
	Key            string    `json:"key"`
	Fork           string    `json:"fork"`
	Rev            uint64    `json:"rev"`
	Revision       int64     `json:"revision"`
	Time           time.Time `json:"time"`
	Value          *string   `json:"value,omitempty"`
	Deleted        bool      `json:"deleted,omitempty"`
	Purged         bool      `json:"purged,omitempty"`
	ValueCompacted bool      `json:"value_compacted,omitempty"`
}

// watchParams are the parsed parameters of GET /v2/watch.
type watchParams struct {
	fork, key, prefix string
	from              int64
	values            bool
	match             func(fork, key string) bool
}

func (h *Handler) watchParams(r *http.Request) (watchParams, error) {
	q := r.URL.Query()
	var p watchParams
	var err error
	if p.fork, err = h.forkParam(r, "fork"); err != nil {
		return p, err
	}
	p.key, p.prefix = q.Get("key"), q.Get("prefix")
	if p.key != "" && q.Has("prefix") {
		return p, badRequest("invalid_target", "give either key or prefix, not both")
	}
	if p.key != "" {
		if err := kv.ValidateKey(p.key, h.limits.MaxKeyBytes); err != nil {
			return p, err
		}
	} else if err := kv.ValidatePrefix(p.prefix, h.limits.MaxKeyBytes); err != nil {
		return p, err
	}
	if p.from, err = intParam(r, "from_revision", 0); err != nil {
		return p, err
	}
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n < 0 {
			return p, badRequest("invalid_last_event_id", "Last-Event-ID %q: want the revision of the last event received", id)
		}
		p.from = n + 1
	}
	p.values = q.Get("values") != "false"
	fork, key, prefix := p.fork, p.key, p.prefix
	p.match = func(f, k string) bool {
		if f != fork {
			return false
		}
		if key != "" {
			return k == key
		}
		return strings.HasPrefix(k, prefix)
	}
	return p, nil
}

// watch streams changes as server-sent events, one JSON event per change in revision order,
// from from_revision (or from now), with progress events while idle.
func (h *Handler) watch(w http.ResponseWriter, r *http.Request) {
	p, err := h.watchParams(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// the stream starts from a point that includes every write acknowledged before it
	if err := h.linearize(r); err != nil {
		h.writeError(w, r, err)
		return
	}
	if p.from == 0 {
		p.from = h.store.Revision() + 1
	}
	changed := h.store.Changed()
	events, next, err := h.store.Events(p.from, watchBatch, p.match)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	// the stream starts after this revision: a client that must resume before any event or
	// progress arrives resumes from here
	setRevision(w, p.from-1)
	w.WriteHeader(http.StatusOK)
	progress := time.NewTicker(h.cfg.WatchProgressInterval)
	defer progress.Stop()
	for {
		for i, ev := range events {
			// the id (the revision, for Last-Event-ID) goes on the last event of a revision
			last := i == len(events)-1 || events[i+1].Revision != ev.Revision
			if err := writeEvent(w, ev, p.values, last); err != nil {
				return
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
		p.from = next
		if next <= h.store.Revision() && len(events) > 0 {
			// more is waiting: read on without waiting
		} else if !h.waitChange(w, r, rc, changed, progress, next-1) {
			return
		}
		changed = h.store.Changed()
		events, next, err = h.store.Events(p.from, watchBatch, p.match)
		if err != nil {
			ae := toAPIError(err)
			body, _ := json.Marshal(map[string]any{"type": "error", "error": ae.Code, "message": ae.Message})
			fmt.Fprintf(w, "event: error\ndata: %s\n\n", body)
			_ = rc.Flush()
			return
		}
	}
}

// waitChange waits for a change, sending progress events meanwhile; false means stop.
func (h *Handler) waitChange(w http.ResponseWriter, r *http.Request, rc *http.ResponseController, changed <-chan struct{}, progress *time.Ticker, seen int64) bool {
	for {
		select {
		case <-r.Context().Done():
			return false
		case <-changed:
			return true
		case <-progress.C:
			body, _ := json.Marshal(map[string]any{"type": "progress", "revision": seen})
			if _, err := fmt.Fprintf(w, "data: %s\n\n", body); err != nil {
				return false
			}
			if err := rc.Flush(); err != nil {
				return false
			}
		}
	}
}

func writeEvent(w http.ResponseWriter, ev kv.Event, values, withID bool) error {
	e := eventJSON{Type: ev.Type.String(), Key: ev.Key, Fork: ev.Fork, Rev: ev.Rev, Revision: ev.Revision,
		Time: ev.Time, Deleted: ev.Deleted, Purged: ev.Purged, ValueCompacted: ev.ValueCompacted}
	if values && !ev.Deleted && !ev.ValueCompacted {
		v := base64.StdEncoding.EncodeToString(ev.Value)
		e.Value = &v
	}
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if withID {
		_, err = fmt.Fprintf(w, "id: %d\ndata: %s\n\n", ev.Revision, body)
	} else {
		_, err = fmt.Fprintf(w, "data: %s\n\n", body)
	}
	return err
}
