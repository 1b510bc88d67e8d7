package kvhttp

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mahou-go/mahou/kv"
	"github.com/mahou-go/mahou/kv/history"
)

// Defaults and caps of history paging.
const (
	defaultHistoryLimit = 100
	maxHistoryLimit     = 10000
)

type historyEntryJSON struct {
	Rev       uint64        `json:"rev"`
	Revision  int64         `json:"revision"`
	Op        string        `json:"op"`
	Time      time.Time     `json:"time"`
	Size      int           `json:"size"`
	Deleted   bool          `json:"deleted"`
	Ancestors []kv.Ancestor `json:"ancestors"`
}

func (h *Handler) history(w http.ResponseWriter, r *http.Request) (any, error) {
	fork, key, err := h.keyParam(r)
	if err != nil {
		return nil, err
	}
	limit, err := intParam(r, "limit", defaultHistoryLimit)
	if err != nil {
		return nil, err
	}
	if limit == 0 || limit > maxHistoryLimit {
		limit = maxHistoryLimit
	}
	before, err := intParam(r, "before_rev", 0)
	if err != nil {
		return nil, err
	}
	if err := h.linearize(r); err != nil {
		return nil, err
	}
	revision := h.store.Revision()
	entries, more, err := h.store.History(fork, key, uint64(before), int(limit))
	if err != nil {
		return nil, err
	}
	out := make([]historyEntryJSON, len(entries))
	for i, e := range entries {
		out[i] = historyEntryJSON{Rev: e.Rev, Revision: e.Revision, Op: e.Op.String(), Time: e.Time,
			Size: e.Size, Deleted: e.Deleted, Ancestors: ancestorsJSON(e.Ancestors)}
	}
	var next *uint64
	if more && len(entries) > 0 {
		n := entries[len(entries)-1].Rev
		next = &n
	}
	setRevision(w, revision)
	return map[string]any{"key": key, "fork": fork, "history": out, "next": next, "revision": revision}, nil
}

// point is one side of a diff.
type point struct {
	Fork    string `json:"fork"`
	Rev     uint64 `json:"rev"`
	Deleted bool   `json:"deleted"`
	hasRev  bool
}

// parsePoint reads "<fork>@<rev>", "<fork>", "@<rev>" or "".
func parsePoint(s, defFork string) (point, error) {
	p := point{Fork: defFork}
	fork, rev, hasAt := strings.Cut(s, "@")
	if fork != "" {
		if err := kv.ValidateFork(fork); err != nil {
			return p, err
		}
		p.Fork = fork
	}
	if hasAt && rev != "" {
		n, err := strconv.ParseUint(rev, 10, 64)
		if err != nil {
			return p, badRequest("invalid_point", "%q: want <fork>@<rev>, e.g. default@3", s)
		}
		p.Rev, p.hasRev = n, true
	}
	return p, nil
}

func (h *Handler) diff(w http.ResponseWriter, r *http.Request) (any, error) {
	fork, key, err := h.keyParam(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	from, err := parsePoint(q.Get("from"), fork)
	if err != nil {
		return nil, err
	}
	to, err := parsePoint(q.Get("to"), fork)
	if err != nil {
		return nil, err
	}
	text := false
	switch enc := q.Get("encoding"); enc {
	case "", "base64":
	case "text":
		text = true
	default:
		return nil, badRequest("invalid_encoding", "encoding %q: use base64 (default) or text", enc)
	}
	if err := h.linearize(r); err != nil {
		return nil, err
	}
	revision := h.store.Revision()
	toVal, err := h.pointValue(key, &to)
	if err != nil {
		return nil, err
	}
	if !q.Has("from") {
		// from defaults to the rev before to, in to's fork
		if to.Rev == 0 {
			return nil, badRequest("invalid_point", "rev 0 has no earlier rev to diff against: give from=<fork>@<rev>")
		}
		from = point{Fork: to.Fork, Rev: to.Rev - 1, hasRev: true}
	}
	fromVal, err := h.pointValue(key, &from)
	if err != nil {
		return nil, err
	}
	edits := history.Script(fromVal, toVal)
	setRevision(w, revision)
	out := map[string]any{"key": key, "from": from, "to": to, "revision": revision}
	if text {
		if !utf8.Valid(fromVal) || !utf8.Valid(toVal) {
			return nil, badRequest("not_text", "the values are not UTF-8 text: use encoding=base64")
		}
		out["edits"] = scriptJSON(edits, func(b []byte) string { return string(b) })
	} else {
		out["edits"] = scriptJSON(edits, base64.StdEncoding.EncodeToString)
	}
	return out, nil
}

// pointValue reads a diff side, filling its rev when it was not given.
func (h *Handler) pointValue(key string, p *point) ([]byte, error) {
	at := kv.At{}
	if p.hasRev {
		at = kv.AtRev(p.Rev)
	}
	rec, err := h.store.Get(p.Fork, key, at)
	if err != nil {
		return nil, err
	}
	p.Rev, p.hasRev, p.Deleted = rec.Rev, true, rec.Deleted
	return rec.Value, nil
}

// scriptJSON encodes an edit script as crush does: [["eq"|"del"|"ins", data], ...].
func scriptJSON(edits []history.Edit, enc func([]byte) string) [][2]string {
	out := make([][2]string, len(edits))
	for i, e := range edits {
		out[i] = [2]string{e.Op.String(), enc(e.Data)}
	}
	return out
}

func (h *Handler) revert(w http.ResponseWriter, r *http.Request) (any, error) {
	fork, key, err := h.keyParam(r)
	if err != nil {
		return nil, err
	}
	s := r.URL.Query().Get("to_rev")
	to, perr := strconv.ParseUint(s, 10, 64)
	if perr != nil {
		return nil, badRequest("invalid_to_rev", "to_rev %q: want the rev to restore, a whole number >= 0", s)
	}
	p, err := preconditions(r)
	if err != nil {
		return nil, err
	}
	res, err := h.propose(r, kv.Revert{Fork: fork, Key: key, ToRev: to, If: p})
	if err != nil {
		return nil, err
	}
	setRevision(w, res.Revision)
	w.Header().Set("ETag", strconv.Quote(strconv.FormatUint(res.Rev, 10)))
	return map[string]any{"key": key, "fork": fork, "rev": res.Rev, "revision": res.Revision, "reverted_to": to}, nil
}
