package boltstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"

	"github.com/mahou-go/mahou/kv"
)

// memberPrefix prefixes the meta-bucket keys of the member registry.
var memberPrefix = []byte("member/")

func (a *applyTx) setMember(c kv.SetMember) (kv.Result, error) {
	if c.ID == "" {
		return kv.Result{Err: kv.Invalid("invalid_member", "member id is empty")}, nil
	}
	b, err := json.Marshal(kv.MemberRecord(c))
	if err != nil {
		return kv.Result{}, err
	}
	a.touched = true
	return kv.Result{}, a.meta.Put(append(bytes.Clone(memberPrefix), c.ID...), b)
}

func (a *applyTx) removeMember(c kv.RemoveMember) (kv.Result, error) {
	a.touched = true
	return kv.Result{}, a.meta.Delete(append(bytes.Clone(memberPrefix), c.ID...))
}

// Members lists the member registry, by id.
func (s *Store) Members() ([]kv.MemberRecord, error) {
	var out []kv.MemberRecord
	err := s.view(func(v *view) error {
		c := v.meta.Cursor()
		for k, val := c.Seek(memberPrefix); k != nil && bytes.HasPrefix(k, memberPrefix); k, val = c.Next() {
			var m kv.MemberRecord
			if err := json.Unmarshal(val, &m); err != nil {
				return fmt.Errorf("read member %s: %w", k, err)
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// PrepareRestore turns a snapshot file into the state of a new cluster: the applied index goes
// back to 0 (the new cluster's log starts over) and the old member registry is dropped. The
// data and its history are kept as they are.
func PrepareRestore(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("prepare restore: %w", err)
	}
	db, err := openDB(path)
	if err != nil {
		return fmt.Errorf("prepare restore: %w", err)
	}
	defer db.Close()
	return db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(metaApplied, u64(0)); err != nil {
			return err
		}
		var drop [][]byte
		c := meta.Cursor()
		for k, _ := c.Seek(memberPrefix); k != nil && bytes.HasPrefix(k, memberPrefix); k, _ = c.Next() {
			drop = append(drop, bytes.Clone(k))
		}
		for _, k := range drop {
			if err := meta.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}
