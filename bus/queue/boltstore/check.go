package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/mahou-go/mahou/bus/queue"
)

// Check verifies the file's invariants and returns every violation found, joined: each queue
// has both buckets, every record decodes and has a body, every body decodes and has a record.
// It reads the whole file: for tests and maintenance, not for a hot path.
func (s *Store) Check() error {
	db, err := s.handle()
	if err != nil {
		return err
	}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	err = db.View(func(tx *bolt.Tx) error {
		qs := tx.Bucket(bucketQueues)
		return qs.ForEachBucket(func(name []byte) error {
			qb := qs.Bucket(name)
			records, bodies := qb.Bucket(bucketRecords), qb.Bucket(bucketBodies)
			if records == nil || bodies == nil {
				fail("queue %q: missing bucket", name)
				return nil
			}
			_ = records.ForEach(func(k, v []byte) error {
				if rec, err := queue.DecodeRecord(v); err != nil {
					fail("%s/%x: %v", name, k, err)
				} else if len(k) != 8 || binary.BigEndian.Uint64(k) != rec.Num {
					fail("%s/%x: holds message number %d", name, k, rec.Num)
				}
				if bodies.Get(k) == nil {
					fail("%s/%x: record without a body", name, k)
				}
				return nil
			})
			_ = bodies.ForEach(func(k, v []byte) error {
				if _, _, _, err := queue.DecodeBody(v); err != nil {
					fail("%s/%x: %v", name, k, err)
				}
				if records.Get(k) == nil {
					fail("%s/%x: body without a record", name, k)
				}
				return nil
			})
			return nil
		})
	})
	if err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
