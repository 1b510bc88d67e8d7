package boltstore

import (
	"bytes"
	"time"

	"github.com/mahou-go/mahou/kv"
)

func (a *applyTx) txn(c kv.Txn) (kv.Result, error) {
	if err := validateTxn(c); err != nil {
		return kv.Result{Err: err}, nil
	}
	ok := true
	for _, cmp := range c.Compare {
		m, err := a.loadMeta(cmp.Fork, cmp.Key)
		if err != nil {
			return kv.Result{}, err
		}
		hold, err := a.compare(cmp, m)
		if err != nil {
			return kv.Result{}, err
		}
		if !hold {
			ok = false
			break
		}
	}
	ops := c.Then
	if !ok {
		ops = c.Else
	}
	tr := &kv.TxnResult{Succeeded: ok, Responses: make([]kv.TxnOpResult, 0, len(ops))}
	for _, op := range ops {
		r, err := a.txnOp(op)
		if err != nil {
			return kv.Result{}, err
		}
		tr.Responses = append(tr.Responses, r)
	}
	return kv.Result{Txn: tr}, nil
}

// validateTxn refuses malformed transactions before anything is read, like etcd: a key may be
// written at most once per branch.
func validateTxn(c kv.Txn) error {
	for _, cmp := range c.Compare {
		if err := validKey(cmp.Fork, cmp.Key); err != nil {
			return err
		}
		switch cmp.Target {
		case kv.CompareValue, kv.CompareRev, kv.CompareModRevision, kv.CompareCreatedRevision, kv.CompareExists:
		default:
			return kv.Invalid("invalid_compare", "compare target %q: use value, rev, mod_revision, created_revision or exists", cmp.Target)
		}
		switch cmp.Op {
		case kv.CmpEqual, kv.CmpNotEqual, kv.CmpLess, kv.CmpGreater:
		default:
			return kv.Invalid("invalid_compare", "compare operator %q: use =, !=, < or >", cmp.Op)
		}
	}
	for _, branch := range [][]kv.TxnOp{c.Then, c.Else} {
		written := map[[2]string]bool{}
		for _, op := range branch {
			if err := validKey(op.Fork, op.Key); err != nil {
				return err
			}
			switch op.Type {
			case kv.TxnGet:
				continue
			case kv.TxnPut, kv.TxnDelete:
			default:
				return kv.Invalid("invalid_txn_op", "transaction operation %q: use put, delete or get", op.Type)
			}
			k := [2]string{op.Fork, op.Key}
			if written[k] {
				return kv.Invalid("duplicate_key", "key %q in fork %q is written twice in one branch: write it once", op.Key, op.Fork)
			}
			written[k] = true
		}
	}
	return nil
}

// compare evaluates one condition. A missing or deleted key has rev -1, revisions 0, no value.
func (a *applyTx) compare(cmp kv.Compare, m *keyMeta) (bool, error) {
	exists := m != nil && !m.Deleted
	if cmp.Target == kv.CompareExists {
		switch cmp.Op {
		case kv.CmpEqual:
			return exists == cmp.Exists, nil
		case kv.CmpNotEqual:
			return exists != cmp.Exists, nil
		}
		return false, nil
	}
	if cmp.Target == kv.CompareValue {
		if !exists {
			return cmp.Op == kv.CmpNotEqual, nil
		}
		val, _, err := a.currentValue(cmp.Fork, cmp.Key, m)
		if err != nil {
			return false, err
		}
		return ordered(bytes.Compare(val, cmp.Value), cmp.Op), nil
	}
	var n int64 = -1
	if cmp.Target != kv.CompareRev {
		n = 0
	}
	if exists {
		switch cmp.Target {
		case kv.CompareRev:
			n = int64(m.Rev)
		case kv.CompareModRevision:
			n = m.ModRevision
		case kv.CompareCreatedRevision:
			n = m.CreatedRevision
		}
	}
	c := 0
	if n < cmp.Number {
		c = -1
	} else if n > cmp.Number {
		c = 1
	}
	return ordered(c, cmp.Op), nil
}

func ordered(c int, op kv.CompareOp) bool {
	switch op {
	case kv.CmpEqual:
		return c == 0
	case kv.CmpNotEqual:
		return c != 0
	case kv.CmpLess:
		return c < 0
	case kv.CmpGreater:
		return c > 0
	}
	return false
}

func (a *applyTx) txnOp(op kv.TxnOp) (kv.TxnOpResult, error) {
	r := kv.TxnOpResult{Type: op.Type, Fork: op.Fork, Key: op.Key}
	m, err := a.loadMeta(op.Fork, op.Key)
	if err != nil {
		return r, err
	}
	switch op.Type {
	case kv.TxnGet:
		if m == nil || m.Deleted {
			return r, nil
		}
		rec, err := a.record(op.Fork, op.Key, m, m.Rev)
		if err != nil {
			return r, err
		}
		if rec.ModRevision == a.next() {
			// written earlier in this transaction; its revision record comes at commit
			rec.Time = time.Unix(0, a.now).UTC()
		}
		r.Found, r.Rev, r.Record = true, m.Rev, rec
	case kv.TxnPut:
		var anc []kv.Ancestor
		if m != nil {
			anc = m.Ancestors
		}
		r.Rev, err = a.writeValue(op.Fork, op.Key, m, op.Value, false, kv.OpPut, anc)
		r.Found = true
	case kv.TxnDelete:
		if m == nil || m.Deleted {
			return r, nil
		}
		r.Rev, err = a.writeValue(op.Fork, op.Key, m, nil, true, kv.OpDelete, m.Ancestors)
		r.Found = true
	}
	return r, err
}
