package kvhttp

import (
	"net/http"

	"github.com/mahou-go/mahou/kv"
)

// txnRequest is the body of POST /v2/txn: etcd's Txn in JSON, values base64.
type txnRequest struct {
	Compare []compareJSON `json:"compare"`
	Then    []txnOpJSON   `json:"then"`
	Else    []txnOpJSON   `json:"else"`
}

type compareJSON struct {
	Key    string `json:"key"`
	Fork   string `json:"fork"`
	Target string `json:"target"`
	Op     string `json:"op"`
	Value  []byte `json:"value"`
	Number int64  `json:"number"`
	Exists bool   `json:"exists"`
}

type txnOpJSON struct {
	Op    string `json:"op"`
	Key   string `json:"key"`
	Fork  string `json:"fork"`
	Value []byte `json:"value"`
}

// toTxn checks a request against the limits and converts it.
func (h *Handler) toTxn(req txnRequest) (kv.Txn, error) {
	var t kv.Txn
	if n := len(req.Compare) + len(req.Then) + len(req.Else); n > h.limits.MaxKeysPerCommand {
		return t, badRequest("too_many_operations", "the transaction has %d comparisons and operations; the limit is %d", n, h.limits.MaxKeysPerCommand)
	}
	for _, c := range req.Compare {
		fork, err := h.bodyKey(c.Fork, c.Key)
		if err != nil {
			return t, err
		}
		t.Compare = append(t.Compare, kv.Compare{Fork: fork, Key: c.Key, Target: kv.CompareTarget(c.Target),
			Op: kv.CompareOp(c.Op), Value: c.Value, Number: c.Number, Exists: c.Exists})
	}
	var err error
	if t.Then, err = h.txnOps(req.Then); err != nil {
		return t, err
	}
	t.Else, err = h.txnOps(req.Else)
	return t, err
}

func (h *Handler) txnOps(ops []txnOpJSON) ([]kv.TxnOp, error) {
	out := make([]kv.TxnOp, 0, len(ops))
	for _, o := range ops {
		fork, err := h.bodyKey(o.Fork, o.Key)
		if err != nil {
			return nil, err
		}
		if len(o.Value) > h.limits.MaxValueBytes {
			return nil, h.tooLarge(int64(len(o.Value)))
		}
		out = append(out, kv.TxnOp{Type: kv.TxnOpType(o.Op), Fork: fork, Key: o.Key, Value: o.Value})
	}
	return out, nil
}

// bodyKey checks a key and fork named in a request body.
func (h *Handler) bodyKey(fork, key string) (string, error) {
	if err := kv.ValidateKey(key, h.limits.MaxKeyBytes); err != nil {
		return "", err
	}
	if fork == "" {
		return kv.DefaultFork, nil
	}
	return fork, kv.ValidateFork(fork)
}

func (h *Handler) txn(w http.ResponseWriter, r *http.Request) (any, error) {
	var req txnRequest
	if err := h.decodeBody(r, &req); err != nil {
		return nil, err
	}
	t, err := h.toTxn(req)
	if err != nil {
		return nil, err
	}
	res, err := h.propose(r, t)
	if err != nil {
		return nil, err
	}
	results := make([]map[string]any, len(res.Txn.Responses))
	for i, o := range res.Txn.Responses {
		m := map[string]any{"op": string(o.Type), "key": o.Key, "fork": o.Fork, "rev": o.Rev}
		switch o.Type {
		case kv.TxnGet:
			// found: whether the key exists; record: the key
			m["found"] = o.Found
			if o.Found {
				m["record"] = toRecordJSON(o.Record, res.Revision)
			}
		case kv.TxnDelete:
			// found: whether there was a key to delete
			m["found"] = o.Found
		}
		results[i] = m
	}
	setRevision(w, res.Revision)
	return map[string]any{"succeeded": res.Txn.Succeeded, "revision": res.Revision, "results": results}, nil
}
