package kvhttp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mahou-go/mahou/kv"
)

// keyParam reads and checks the {key...} path value and the fork query parameter.
func (h *Handler) keyParam(r *http.Request) (fork, key string, err error) {
	key = r.PathValue("key")
	if err := kv.ValidateKey(key, h.limits.MaxKeyBytes); err != nil {
		return "", "", err
	}
	fork, err = h.forkParam(r, "fork")
	return fork, key, err
}

// forkParam reads a fork name from the query, defaulting to "default".
func (h *Handler) forkParam(r *http.Request, name string) (string, error) {
	fork := r.URL.Query().Get(name)
	if fork == "" {
		return kv.DefaultFork, nil
	}
	return fork, kv.ValidateFork(fork)
}

// readPoint parses rev, revision and as_of; at most one may be given.
func readPoint(r *http.Request) (kv.At, error) {
	q := r.URL.Query()
	var at kv.At
	given := 0
	if s := q.Get("rev"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return at, badRequest("invalid_rev", "rev %q: want a per-key rev, a whole number >= 0", s)
		}
		at, given = kv.AtRev(n), given+1
	}
	if s := q.Get("revision"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return at, badRequest("invalid_revision", "revision %q: want a store revision, a whole number >= 1", s)
		}
		at, given = kv.AtRevision(n), given+1
	}
	if s := q.Get("as_of"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return at, badRequest("invalid_as_of", "as_of %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", s)
		}
		at, given = kv.AtTime(t), given+1
	}
	if given > 1 {
		return at, badRequest("invalid_read_point", "give at most one of rev, revision and as_of")
	}
	return at, nil
}

// intParam parses an optional non-negative integer query parameter.
func intParam(r *http.Request, name string, def int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest("invalid_"+name, "%s %q: want a whole number >= 0", name, s)
	}
	return n, nil
}

func boolParam(r *http.Request, name string) (bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, badRequest("invalid_"+name, "%s %q: want true or false", name, s)
	}
	return b, nil
}

// decodeBody reads a JSON body strictly: unknown fields and trailing data are errors.
func (h *Handler) decodeBody(r *http.Request, v any) error {
	body := http.MaxBytesReader(nil, r.Body, h.cfg.MaxBodyBytes)
	return decodeJSON(body, v, h.cfg.MaxBodyBytes)
}

func decodeJSON(body io.Reader, v any, limit int64) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
				Message: fmt.Sprintf("request body is over the %d-byte limit: split the request", limit)}
		}
		if errors.Is(err, io.EOF) {
			return badRequest("invalid_json", "the request body is empty: send a JSON object")
		}
		return badRequest("invalid_json", "request body: %v", err)
	}
	if dec.More() {
		return badRequest("invalid_json", "request body: data after the JSON object")
	}
	return nil
}

// readValue reads a raw value body, enforcing the value size limit.
func (h *Handler) readValue(r *http.Request) ([]byte, error) {
	limit := int64(h.limits.MaxValueBytes)
	if r.ContentLength > limit {
		return nil, h.tooLarge(r.ContentLength)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, badRequest("invalid_body", "read request body: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, h.tooLarge(-1)
	}
	return b, nil
}

func (h *Handler) tooLarge(n int64) error {
	size := "more than the limit"
	if n >= 0 {
		size = strconv.FormatInt(n, 10) + " bytes"
	}
	return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "value_too_large",
		Message: fmt.Sprintf("the value is %s; the limit is %d bytes (--max-value-bytes): store large blobs elsewhere and keep a reference here", size, h.limits.MaxValueBytes)}
}

// preconditions parses If-Match (a rev, optionally quoted as an ETag) and If-None-Match: *.
func preconditions(r *http.Request) (kv.Precondition, error) {
	var p kv.Precondition
	if s := r.Header.Get("If-Match"); s != "" {
		s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
		n, err := strconv.ParseUint(strings.Trim(s, `"`), 10, 64)
		if err != nil {
			return p, badRequest("invalid_if_match", "If-Match %q: want the key's current rev, e.g. If-Match: 3", s)
		}
		p.HasMatchRev, p.MatchRev = true, n
	}
	if s := r.Header.Get("If-None-Match"); s != "" {
		if strings.TrimSpace(s) != "*" {
			return p, badRequest("invalid_if_none_match", "If-None-Match %q: only * (create only if absent) is supported", s)
		}
		p.MustNotExist = true
	}
	return p, nil
}

// setRevision sets the X-Crush-Revision header.
func setRevision(w http.ResponseWriter, r int64) {
	w.Header().Set("X-Crush-Revision", strconv.FormatInt(r, 10))
}

// ancestorsJSON never encodes as null.
func ancestorsJSON(as []kv.Ancestor) []kv.Ancestor {
	if as == nil {
		return []kv.Ancestor{}
	}
	return as
}

// recordJSON is a key read.
type recordJSON struct {
	Key             string        `json:"key"`
	Fork            string        `json:"fork"`
	Value           []byte        `json:"value"`
	Rev             uint64        `json:"rev"`
	Revision        int64         `json:"revision"`
	ModRevision     int64         `json:"mod_revision"`
	CreatedRevision int64         `json:"created_revision"`
	Op              string        `json:"op"`
	Time            time.Time     `json:"time"`
	Ancestors       []kv.Ancestor `json:"ancestors"`
	Deleted         bool          `json:"deleted"`
}

func toRecordJSON(rec kv.Record, revision int64) recordJSON {
	v := rec.Value
	if v == nil && !rec.Deleted {
		v = []byte{}
	}
	return recordJSON{Key: rec.Key, Fork: rec.Fork, Value: v, Rev: rec.Rev, Revision: revision,
		ModRevision: rec.ModRevision, CreatedRevision: rec.CreatedRevision, Op: rec.Op.String(),
		Time: rec.Time, Ancestors: ancestorsJSON(rec.Ancestors), Deleted: rec.Deleted}
}
