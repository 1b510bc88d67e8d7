package kvhttp

import (
	"errors"
	"net/http"

	"github.com/mahou-go/mahou/kv"
)

// forkRequest is the body of POST /v2/fork.
type forkRequest struct {
	From     string  `json:"from"`
	To       string  `json:"to"`
	Key      *string `json:"key"`
	Prefix   *string `json:"prefix"`
	Revision int64   `json:"revision"`
	Force    bool    `json:"force"`
}

// mergeRequest is the body of POST /v2/merge.
type mergeRequest struct {
	From     string  `json:"from"`
	To       string  `json:"to"`
	Key      *string `json:"key"`
	Prefix   *string `json:"prefix"`
	Strategy string  `json:"strategy"`
}

// target checks that exactly one of key and prefix is given.
func (h *Handler) target(key, prefix *string) (string, string, bool, error) {
	switch {
	case key != nil && prefix != nil:
		return "", "", false, badRequest("invalid_target", "give either \"key\" or \"prefix\", not both")
	case key != nil:
		return *key, "", false, kv.ValidateKey(*key, h.limits.MaxKeyBytes)
	case prefix != nil:
		return "", *prefix, true, kv.ValidatePrefix(*prefix, h.limits.MaxKeyBytes)
	}
	return "", "", false, badRequest("invalid_target", "give \"key\" (one key) or \"prefix\" (\"\" for every key of the fork)")
}

func (h *Handler) forkPair(from, to string) error {
	if from == "" || to == "" {
		return badRequest("invalid_fork", "give both \"from\" and \"to\" forks")
	}
	if err := kv.ValidateFork(from); err != nil {
		return err
	}
	if err := kv.ValidateFork(to); err != nil {
		return err
	}
	if from == to {
		return badRequest("invalid_fork", "\"from\" and \"to\" are both %q: name two forks", from)
	}
	return nil
}

func keyResults(ks []kv.KeyResult) []map[string]any {
	out := make([]map[string]any, len(ks))
	for i, k := range ks {
		out[i] = map[string]any{"key": k.Key, "rev": k.Rev, "result": k.Outcome}
	}
	return out
}

func (h *Handler) fork(w http.ResponseWriter, r *http.Request) (any, error) {
	var req forkRequest
	if err := h.decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := h.forkPair(req.From, req.To); err != nil {
		return nil, err
	}
	key, prefix, isPrefix, err := h.target(req.Key, req.Prefix)
	if err != nil {
		return nil, err
	}
	if req.Revision < 0 {
		return nil, badRequest("invalid_revision", "revision %d: want a store revision >= 1, or 0 for now", req.Revision)
	}
	res, err := h.propose(r, kv.Fork{From: req.From, To: req.To, Key: key, Prefix: prefix, IsPrefix: isPrefix,
		Revision: req.Revision, Force: req.Force})
	if errors.Is(err, kv.ErrNotFound) {
		// the same code as a merge from a missing source
		return nil, kv.ErrSourceNotFound
	}
	if err != nil {
		return nil, err
	}
	setRevision(w, res.Revision)
	return map[string]any{"revision": res.Revision, "keys": keyResults(res.Keys)}, nil
}

func (h *Handler) forks(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := h.linearize(r); err != nil {
		return nil, err
	}
	revision := h.store.Revision()
	fs, err := h.store.Forks()
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(fs))
	for i, f := range fs {
		points := make([]map[string]any, len(f.Points))
		for j, p := range f.Points {
			pt := map[string]any{"from": p.From, "from_revision": p.FromRevision, "revision": p.Revision}
			if p.IsPrefix {
				pt["prefix"] = p.Prefix
			} else {
				pt["key"] = p.Key
			}
			points[j] = pt
		}
		out[i] = map[string]any{"name": f.Name, "created_revision": f.CreatedRevision, "keys": f.Keys, "points": points}
	}
	setRevision(w, revision)
	return map[string]any{"forks": out, "revision": revision}, nil
}

func (h *Handler) merge(w http.ResponseWriter, r *http.Request) (any, error) {
	var req mergeRequest
	if err := h.decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := h.forkPair(req.From, req.To); err != nil {
		return nil, err
	}
	key, prefix, isPrefix, err := h.target(req.Key, req.Prefix)
	if err != nil {
		return nil, err
	}
	strategy := kv.MergeStrategy(req.Strategy)
	switch strategy {
	case "":
		strategy = kv.MergeThreeWay
	case kv.MergeThreeWay, kv.MergeSourceWins, kv.MergeTargetWins:
	default:
		return nil, badRequest("invalid_strategy", "strategy %q: use three-way (default), source-wins or target-wins", req.Strategy)
	}
	res, err := h.propose(r, kv.Merge{From: req.From, To: req.To, Key: key, Prefix: prefix, IsPrefix: isPrefix, Strategy: strategy})
	if err != nil {
		return nil, err
	}
	setRevision(w, res.Revision)
	return map[string]any{"revision": res.Revision, "strategy": strategy, "keys": keyResults(res.Keys)}, nil
}
