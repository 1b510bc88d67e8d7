package kvhttp

import (
	"encoding/base64"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strings"

	"github.com/mahou-go/mahou/kv"
	"github.com/mahou-go/mahou/kv/history"
)

// v1 serves the original crush's routes. They are matched by hand: v1 keys are single path
// segments, and crush's table (GET /:key/:fork vs GET /:key/info) needs an order that pattern
// specificity cannot express next to the v2 routes.
//
//	GET /keys                         keys
//	GET|PUT|DELETE /:key[/:fork]      get, set, del
//	GET /:key/info, /:key/:fork/info  key info (the first was unreachable in crush)
//	POST /:key/:fork/fork/:target     fork
//	POST /:key/:fork/merge/:target    merge (the source overwrites the target)
func (h *Handler) v1(w http.ResponseWriter, r *http.Request) {
	segs, ok := pathSegments(r.URL.EscapedPath())
	if !ok {
		v1NotFound(w)
		return
	}
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	var err error
	switch {
	case len(segs) == 1 && segs[0] == "keys" && get:
		err = h.v1Keys(w, r)
	case len(segs) == 1 || len(segs) == 2 && !(segs[1] == "info" && get):
		fork := ""
		if len(segs) == 2 {
			fork = segs[1]
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			err = h.v1Get(w, r, segs[0], fork)
		case http.MethodPut:
			err = h.v1Put(w, r, segs[0], fork)
		case http.MethodDelete:
			err = h.v1Delete(w, r, segs[0], fork)
		default:
			v1NotFound(w)
		}
	case len(segs) == 2 && get:
		err = h.v1Info(w, r, segs[0], "")
	case len(segs) == 3 && segs[2] == "info" && get:
		err = h.v1Info(w, r, segs[0], segs[1])
	case len(segs) == 4 && r.Method == http.MethodPost && segs[2] == "fork":
		err = h.v1Fork(w, r, segs[0], segs[1], segs[3])
	case len(segs) == 4 && r.Method == http.MethodPost && segs[2] == "merge":
		err = h.v1Merge(w, r, segs[0], segs[1], segs[3])
	default:
		v1NotFound(w)
	}
	if err != nil {
		h.v1Error(w, r, err)
	}
}

// pathSegments splits an escaped path into unescaped segments; empty segments are not routes.
func pathSegments(escaped string) ([]string, bool) {
	parts := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	for i, p := range parts {
		s, err := url.PathUnescape(p)
		if err != nil || s == "" {
			return nil, false
		}
		parts[i] = s
	}
	return parts, true
}

// v1NotFound is Phoenix's production 404 body, with this API's code and message added.
func v1NotFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]any{
		"errors": map[string]string{"detail": "Not Found"},
		"error":  "route_not_found", "message": "no such route: see docs/api/crush.md",
	})
}

// v1Error writes errors in crush's shape, {"status":"error","error":code}, plus a message.
func (h *Handler) v1Error(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPIError(err)
	if ae.Status >= 500 {
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	body := ae.body()
	body["status"] = "error"
	writeJSON(w, ae.Status, body)
}

var statusOK = map[string]string{"status": "ok"}

// maxV1RevisionBytes bounds the values one v1 GET ?revisions= answer rebuilds (estimated from
// the current value's size); past it the answer holds the newest revisions and says
// X-Crush-Truncated: true. Page through older ones with GET /v2/history and ?rev=.
const maxV1RevisionBytes = 64 << 20

// v1Target checks the key and resolves the fork of a v1 request: the path wins, then ?fork=, then "default".
func (h *Handler) v1Target(r *http.Request, key, pathFork string) (string, error) {
	if err := kv.ValidateKey(key, h.limits.MaxKeyBytes); err != nil {
		return "", err
	}
	fork := pathFork
	if fork == "" {
		fork = r.URL.Query().Get("fork")
	}
	if fork == "" {
		return kv.DefaultFork, nil
	}
	return fork, kv.ValidateFork(fork)
}

// parseRevisions reads crush's revisions parameter like Elixir's Integer.parse: "all", or the
// leading integer of the string ("3abc" is 3), with anything unparsable meaning 0. A negative
// count crashed the original; here it is an error.
func parseRevisions(s string) (n int64, all bool, err error) {
	if s == "all" {
		return 0, true, nil
	}
	i, neg := 0, false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if n > (math.MaxInt64-9)/10 {
			n = math.MaxInt64
		} else {
			n = n*10 + int64(s[i]-'0')
		}
		i++
	}
	if i == start {
		return 0, false, nil
	}
	if neg && n > 0 {
		return 0, false, badRequest("invalid_revisions", "revisions %q: want a count >= 0 or \"all\"", s)
	}
	return n, false, nil
}

func (h *Handler) v1Get(w http.ResponseWriter, r *http.Request, key, pathFork string) error {
	fork, err := h.v1Target(r, key, pathFork)
	if err != nil {
		return err
	}
	n, all, err := parseRevisions(r.URL.Query().Get("revisions"))
	if err != nil {
		return err
	}
	patch := r.URL.Query().Get("patch") == "true"
	if err := h.linearize(r); err != nil {
		return err
	}
	rec, err := h.store.Get(fork, key, kv.At{})
	if errors.Is(err, kv.ErrNotFound) || err == nil && rec.Deleted {
		setRevision(w, h.store.Revision())
		writeJSON(w, http.StatusOK, []any{})
		return nil
	}
	if err != nil {
		return err
	}
	setRevision(w, rec.ReadRevision)
	take := int64(rec.Rev - rec.OldestRev)
	if !all {
		take = min(take, n)
	}
	// the original answered every revision however many; this bounds one answer by size
	if budget := max(1, maxV1RevisionBytes/int64(max(len(rec.Value), 64))); take > budget {
		take = budget
		w.Header().Set("X-Crush-Truncated", "true")
	}
	revs := []string{}
	var patches [][][2]string
	if take > 0 {
		vals, err := h.store.Values(fork, key, rec.Rev-uint64(take), rec.Rev)
		if err != nil {
			return err
		}
		for i := len(vals) - 1; i >= 1; i-- {
			if patch {
				revs = append(revs, base64.StdEncoding.EncodeToString(vals[i-1]))
			} else {
				patches = append(patches, scriptJSON(history.Script(vals[i], vals[i-1]), base64.StdEncoding.EncodeToString))
			}
		}
	}
	value := base64.StdEncoding.EncodeToString(rec.Value)
	if !patch && patches != nil {
		writeJSON(w, http.StatusOK, []any{value, patches})
		return nil
	}
	writeJSON(w, http.StatusOK, []any{value, revs})
	return nil
}

func (h *Handler) v1Put(w http.ResponseWriter, r *http.Request, key, pathFork string) error {
	fork, err := h.v1Target(r, key, pathFork)
	if err != nil {
		return err
	}
	val, err := h.readValue(r)
	if err != nil {
		return err
	}
	res, err := h.propose(r, kv.Put{Fork: fork, Key: key, Value: val})
	if err != nil {
		return err
	}
	setRevision(w, res.Revision)
	writeJSON(w, http.StatusOK, statusOK)
	return nil
}

// v1Delete writes a tombstone (crush erased the history; this keeps it). Deleting an absent
// key is fine, as in crush.
func (h *Handler) v1Delete(w http.ResponseWriter, r *http.Request, key, pathFork string) error {
	fork, err := h.v1Target(r, key, pathFork)
	if err != nil {
		return err
	}
	res, err := h.propose(r, kv.Delete{Fork: fork, Key: key})
	if err != nil && !errors.Is(err, kv.ErrNotFound) {
		return err
	}
	setRevision(w, res.Revision)
	writeJSON(w, http.StatusOK, statusOK)
	return nil
}

func (h *Handler) v1Info(w http.ResponseWriter, r *http.Request, key, pathFork string) error {
	fork, err := h.v1Target(r, key, pathFork)
	if err != nil {
		return err
	}
	if err := h.linearize(r); err != nil {
		return err
	}
	count := uint64(0)
	rec, err := h.store.Get(fork, key, kv.At{})
	switch {
	case err == nil && !rec.Deleted:
		count = rec.Rev
	case err != nil && !errors.Is(err, kv.ErrNotFound):
		return err
	}
	setRevision(w, h.store.Revision())
	writeJSON(w, http.StatusOK, map[string]any{"key": key, "revision_count": count})
	return nil
}

func (h *Handler) v1Fork(w http.ResponseWriter, r *http.Request, key, from, to string) error {
	if err := h.v1ForkNames(key, from, to); err != nil {
		return err
	}
	if from == to {
		return badRequest("invalid_fork", "fork %q onto itself: name another target fork", from)
	}
	res, err := h.propose(r, kv.Fork{From: from, To: to, Key: key})
	if err != nil {
		return err
	}
	setRevision(w, res.Revision)
	writeJSON(w, http.StatusOK, statusOK)
	return nil
}

func (h *Handler) v1Merge(w http.ResponseWriter, r *http.Request, key, from, to string) error {
	if err := h.v1ForkNames(key, from, to); err != nil {
		return err
	}
	res, err := h.propose(r, kv.Merge{From: from, To: to, Key: key, Strategy: kv.MergeSourceWins, RequireTarget: true})
	if err != nil {
		return err
	}
	setRevision(w, res.Revision)
	writeJSON(w, http.StatusOK, statusOK)
	return nil
}

func (h *Handler) v1ForkNames(key, from, to string) error {
	if err := kv.ValidateKey(key, h.limits.MaxKeyBytes); err != nil {
		return err
	}
	if err := kv.ValidateFork(from); err != nil {
		return err
	}
	return kv.ValidateFork(to)
}

// v1Keys lists "<fork>:<key>" names, as crush did, sorted; the original had no paging, so this
// returns up to maxV1Keys and says so in a header when there are more.
func (h *Handler) v1Keys(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	fork := q.Get("fork")
	if fork == "" {
		fork = kv.DefaultFork
	} else if err := kv.ValidateFork(fork); err != nil {
		return err
	}
	prefix := q.Get("prefix")
	if err := kv.ValidatePrefix(prefix, h.limits.MaxKeyBytes); err != nil {
		return err
	}
	if err := h.linearize(r); err != nil {
		return err
	}
	out := []string{}
	after := ""
	for {
		page, err := h.store.Keys(kv.KeysQuery{Fork: fork, Prefix: prefix, After: after, Limit: maxV1Keys - len(out)})
		if err != nil {
			return err
		}
		for _, k := range page.Keys {
			out = append(out, fork+":"+k)
		}
		if !page.More {
			break
		}
		if len(out) >= maxV1Keys {
			w.Header().Set("X-Crush-Truncated", "true")
			break
		}
		after = page.Keys[len(page.Keys)-1]
	}
	setRevision(w, h.store.Revision())
	writeJSON(w, http.StatusOK, out)
	return nil
}
