package kvhttp

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/mahou-go/mahou/kv"
)

// propose replicates a command and turns a domain failure into an error.
func (h *Handler) propose(r *http.Request, cmd kv.Command) (kv.Result, error) {
	res, err := h.store.Propose(r.Context(), cmd)
	if err != nil {
		return res, err
	}
	return res, res.Err
}

// writeJSONResult is the body of a single-key write.
type writeResult struct {
	Key      string `json:"key"`
	Fork     string `json:"fork"`
	Rev      uint64 `json:"rev"`
	Revision int64  `json:"revision"`
}

func (h *Handler) getKey(w http.ResponseWriter, r *http.Request) (any, error) {
	fork, key, err := h.keyParam(r)
	if err != nil {
		return nil, err
	}
	at, err := readPoint(r)
	if err != nil {
		return nil, err
	}
	if err := h.linearize(r); err != nil {
		return nil, err
	}
	rec, err := h.store.Get(fork, key, at)
	if err != nil {
		return nil, err
	}
	setRevision(w, rec.ReadRevision)
	if rec.Deleted {
		return nil, &apiError{Status: http.StatusNotFound, Code: "not_found",
			Message: fmt.Sprintf("key %q was deleted at rev %d: read an earlier rev with ?rev=", key, rec.Rev),
			Extra:   map[string]any{"deleted": true, "rev": rec.Rev, "revision": rec.ReadRevision}}
	}
	w.Header().Set("ETag", strconv.Quote(strconv.FormatUint(rec.Rev, 10)))
	if wantsRaw(r) {
		hd := w.Header()
		hd.Set("Content-Type", "application/octet-stream")
		hd.Set("Content-Length", strconv.Itoa(len(rec.Value)))
		hd.Set("X-Crush-Rev", strconv.FormatUint(rec.Rev, 10))
		hd.Set("X-Crush-Mod-Revision", strconv.FormatInt(rec.ModRevision, 10))
		hd.Set("X-Crush-Created-Revision", strconv.FormatInt(rec.CreatedRevision, 10))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(rec.Value)
		}
		return nil, nil
	}
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		return nil, nil
	}
	return toRecordJSON(rec, rec.ReadRevision), nil
}

// wantsRaw reports whether the client asked for the value's raw bytes.
func wantsRaw(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(mt), "application/octet-stream") {
			return true
		}
	}
	return false
}

func (h *Handler) putKey(w http.ResponseWriter, r *http.Request) (any, error) {
	fork, key, err := h.keyParam(r)
	if err != nil {
		return nil, err
	}
	p, err := preconditions(r)
	if err != nil {
		return nil, err
	}
	val, err := h.readValue(r)
	if err != nil {
		return nil, err
	}
	res, err := h.propose(r, kv.Put{Fork: fork, Key: key, Value: val, If: p})
	if err != nil {
		return nil, err
	}
	setRevision(w, res.Revision)
	w.Header().Set("ETag", strconv.Quote(strconv.FormatUint(res.Rev, 10)))
	return writeResult{Key: key, Fork: fork, Rev: res.Rev, Revision: res.Revision}, nil
}

func (h *Handler) deleteKey(w http.ResponseWriter, r *http.Request) (any, error) {
	fork, key, err := h.keyParam(r)
	if err != nil {
		return nil, err
	}
	p, err := preconditions(r)
	if err != nil {
		return nil, err
	}
	purge, err := boolParam(r, "purge")
	if err != nil {
		return nil, err
	}
	res, err := h.propose(r, kv.Delete{Fork: fork, Key: key, If: p, Purge: purge})
	if err != nil {
		if errors.Is(err, kv.ErrNotFound) {
			return nil, &apiError{Status: http.StatusNotFound, Code: "not_found",
				Message: fmt.Sprintf("key %q does not exist in fork %q (or is already deleted)", key, fork)}
		}
		return nil, err
	}
	setRevision(w, res.Revision)
	if !purge {
		w.Header().Set("ETag", strconv.Quote(strconv.FormatUint(res.Rev, 10)))
	}
	return map[string]any{"key": key, "fork": fork, "rev": res.Rev, "revision": res.Revision, "purged": purge}, nil
}
