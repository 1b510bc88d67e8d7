package crush

import (
	"context"
	"net/http"
)

// Txn is a transaction: when every comparison holds, the Then operations are applied, else the
// Else operations, atomically, as one store revision (etcd's Txn). Its JSON form is the body of
// POST /v2/txn, values in base64. Build its parts with the Compare and TxnOp constructors:
//
//	crush.Txn{
//		Compare: []crush.Compare{crush.CompareRev("leader", crush.Equal, 4)},
//		Then:    []crush.TxnOp{crush.OpPut("leader", []byte("node-2"))},
//		Else:    []crush.TxnOp{crush.OpGet("leader")},
//	}
type Txn struct {
	Compare []Compare `json:"compare"`
	Then    []TxnOp   `json:"then"`
	Else    []TxnOp   `json:"else"`
}

// CompareOp is a comparison operator.
type CompareOp string

// The comparison operators.
const (
	Equal    CompareOp = "="
	NotEqual CompareOp = "!="
	Less     CompareOp = "<"
	Greater  CompareOp = ">"
)

// Compare is one condition of a transaction. A missing or deleted key has no value (only
// NotEqual holds), rev -1, mod and created revision 0, and does not exist.
type Compare struct {
	Key  string `json:"key"`
	Fork string `json:"fork,omitempty"`
	// Target is value, rev, mod_revision, created_revision or exists.
	Target string    `json:"target"`
	Op     CompareOp `json:"op"`
	Value  []byte    `json:"value,omitempty"`
	Number int64     `json:"number,omitempty"`
	Exists bool      `json:"exists,omitempty"`
}

// CompareValue compares a key's value (bytewise) with value.
func CompareValue(key string, op CompareOp, value []byte) Compare {
	return Compare{Key: key, Target: "value", Op: op, Value: value}
}

// CompareRev compares a key's rev with rev (-1 for a missing key).
func CompareRev(key string, op CompareOp, rev int64) Compare {
	return Compare{Key: key, Target: "rev", Op: op, Number: rev}
}

// CompareModRevision compares the store revision that last wrote the key with r.
func CompareModRevision(key string, op CompareOp, r int64) Compare {
	return Compare{Key: key, Target: "mod_revision", Op: op, Number: r}
}

// CompareCreatedRevision compares the store revision that created the key with r.
func CompareCreatedRevision(key string, op CompareOp, r int64) Compare {
	return Compare{Key: key, Target: "created_revision", Op: op, Number: r}
}

// KeyExists holds when the key exists and is not deleted.
func KeyExists(key string) Compare {
	return Compare{Key: key, Target: "exists", Op: Equal, Exists: true}
}

// KeyMissing holds when the key is absent or deleted.
func KeyMissing(key string) Compare {
	return Compare{Key: key, Target: "exists", Op: Equal, Exists: false}
}

// InFork returns the comparison applied to a key of another fork than "default".
func (c Compare) InFork(fork string) Compare { c.Fork = fork; return c }

// TxnOp is one operation of a transaction branch.
type TxnOp struct {
	// Op is put, delete or get.
	Op    string `json:"op"`
	Key   string `json:"key"`
	Fork  string `json:"fork,omitempty"`
	Value []byte `json:"value,omitempty"`
}

// OpPut writes a value.
func OpPut(key string, value []byte) TxnOp { return TxnOp{Op: "put", Key: key, Value: value} }

// OpDelete writes a tombstone.
func OpDelete(key string) TxnOp { return TxnOp{Op: "delete", Key: key} }

// OpGet reads a key as of the transaction.
func OpGet(key string) TxnOp { return TxnOp{Op: "get", Key: key} }

// InFork returns the operation applied to a key of another fork than "default".
func (o TxnOp) InFork(fork string) TxnOp { o.Fork = fork; return o }

// TxnResult is the outcome of a transaction.
type TxnResult struct {
	// Succeeded reports whether the comparisons held (Then ran) or not (Else ran).
	Succeeded bool  `json:"succeeded"`
	Revision  int64 `json:"revision"`
	// Results has one entry per operation of the branch that ran.
	Results []TxnOpResult `json:"results"`
}

// TxnOpResult is the outcome of one operation.
type TxnOpResult struct {
	Op   string `json:"op"`
	Key  string `json:"key"`
	Fork string `json:"fork"`
	// Rev is the rev written (put, delete) or read (get).
	Rev uint64 `json:"rev"`
	// Found reports, for get, whether the key exists; Record holds it then.
	Found  bool    `json:"found"`
	Record *Record `json:"record,omitempty"`
}

// Txn applies a transaction.
func (c *Client) Txn(ctx context.Context, t Txn) (TxnResult, error) {
	var res TxnResult
	err := c.postJSON(ctx, http.MethodPost, "/v2/txn", t, &res)
	return res, err
}
