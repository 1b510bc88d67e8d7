package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mahou-go/mahou/bus/queue"
)

// schemaVersion is the layout version in the meta bucket; Open refuses any other.
const schemaVersion = 1

var (
	bucketMeta    = []byte("meta")
	bucketQueues  = []byte("queues")
	bucketRecords = []byte("records")
	bucketBodies  = []byte("bodies")
	keySchema     = []byte("schema")
)

// openTimeout bounds the wait for the file lock: a second process on the same data directory
// fails instead of hanging.
const openTimeout = 2 * time.Second

// Store is a queue.Store in one bbolt file.
type Store struct {
	path string

	mu     sync.Mutex // guards db and closed; Save and Load run under bbolt's own locks
	db     *bolt.DB
	closed bool
}

var (
	_ queue.Store    = (*Store)(nil)
	_ queue.Backuper = (*Store)(nil)
)

// New builds a store for the file at path; Open opens it.
func New(path string) *Store { return &Store{path: path} }

// Open opens (or creates) the file and checks its schema version.
func (s *Store) Open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil || s.closed {
		return errors.New("open queue store: already opened")
	}
	// As etcd does: the freelist is not written at every commit (Open rebuilds it by scanning
	// the file) and is kept as a map. Commits still fsync: durability is untouched.
	db, err := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: openTimeout, NoFreelistSync: true,
		FreelistType: bolt.FreelistMapType})
	if err != nil {
		return fmt.Errorf("open queue store %s: %w", s.path, err)
	}
	if err := db.Update(initSchema); err != nil {
		db.Close()
		return fmt.Errorf("open queue store %s: %w", s.path, err)
	}
	s.db = db
	return nil
}

func initSchema(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	if _, err := tx.CreateBucketIfNotExists(bucketQueues); err != nil {
		return err
	}
	v := meta.Get(keySchema)
	if v == nil {
		return meta.Put(keySchema, binary.BigEndian.AppendUint64(nil, schemaVersion))
	}
	if len(v) != 8 || binary.BigEndian.Uint64(v) != schemaVersion {
		return fmt.Errorf("schema %x: %w", v, queue.ErrVersion)
	}
	return nil
}

// Close closes the file; it is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}

func (s *Store) handle() (*bolt.DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil, errors.New("queue store not open")
	}
	return s.db, nil
}

// Save implements queue.Store.
func (s *Store) Save(changes []queue.Change) error {
	db, err := s.handle()
	if err != nil {
		return err
	}
	return db.Update(func(tx *bolt.Tx) error {
		qs := tx.Bucket(bucketQueues)
		open := map[string][2]*bolt.Bucket{}
		for _, ch := range changes {
			bs, ok := open[ch.Queue]
			if !ok {
				if bs, err = queueBuckets(qs, ch.Queue); err != nil {
					return err
				}
				open[ch.Queue] = bs
			}
			if err := saveChange(bs[0], bs[1], ch); err != nil {
				return err
			}
		}
		return nil
	})
}

// queueBuckets returns the records and bodies buckets of a queue, creating them.
func queueBuckets(qs *bolt.Bucket, name string) ([2]*bolt.Bucket, error) {
	qb, err := qs.CreateBucketIfNotExists([]byte(name))
	if err != nil {
		return [2]*bolt.Bucket{}, fmt.Errorf("create queue %q: %w", name, err)
	}
	records, err := qb.CreateBucketIfNotExists(bucketRecords)
	if err != nil {
		return [2]*bolt.Bucket{}, err
	}
	bodies, err := qb.CreateBucketIfNotExists(bucketBodies)
	if err != nil {
		return [2]*bolt.Bucket{}, err
	}
	return [2]*bolt.Bucket{records, bodies}, nil
}

// key is a message's key in both buckets: its number, big-endian, so that keys sort in
// enqueue order and new messages append to the B+tree instead of landing on random pages.
func key(num uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), num) }

func saveChange(records, bodies *bolt.Bucket, ch queue.Change) error {
	id := key(ch.Record.Num)
	if ch.Deleted {
		if err := records.Delete(id); err != nil {
			return err
		}
		return bodies.Delete(id)
	}
	rec, err := ch.Record.AppendBinary(make([]byte, 0, 48))
	if err != nil {
		return err
	}
	if err := records.Put(id, rec); err != nil {
		return fmt.Errorf("put record %s: %w", ch.Record.ID, err)
	}
	if ch.Body != nil {
		if err := bodies.Put(id, ch.Body); err != nil {
			return fmt.Errorf("put body %s: %w", ch.Record.ID, err)
		}
	}
	return nil
}

// Load implements queue.Store.
func (s *Store) Load(queueFn func(name string) error, msgFn func(queue string, rec queue.Record, body []byte) error) error {
	db, err := s.handle()
	if err != nil {
		return err
	}
	return db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketQueues).ForEachBucket(func(name []byte) error {
			q := string(name)
			if err := queueFn(q); err != nil {
				return err
			}
			qb := tx.Bucket(bucketQueues).Bucket(name)
			records, bodies := qb.Bucket(bucketRecords), qb.Bucket(bucketBodies)
			if records == nil || bodies == nil {
				return fmt.Errorf("load queue %q: missing bucket: %w", q, queue.ErrCorrupt)
			}
			return records.ForEach(func(k, v []byte) error {
				rec, err := queue.DecodeRecord(v)
				if err == nil && (len(k) != 8 || binary.BigEndian.Uint64(k) != rec.Num) {
					err = fmt.Errorf("key %x holds message number %d: %w", k, rec.Num, queue.ErrCorrupt)
				}
				if err != nil {
					return fmt.Errorf("load %s/%x: %w", q, k, err)
				}
				body := bodies.Get(k)
				if body == nil {
					return fmt.Errorf("load %s/%s: no body: %w", q, rec.ID, queue.ErrCorrupt)
				}
				return msgFn(q, rec, append([]byte(nil), body...))
			})
		})
	})
}

// Backup writes a consistent copy of the file to w while the store keeps serving (a bbolt
// read transaction: writers are not blocked) and returns its size, which size (if not nil)
// learns first. The copy is a valid queues.db: put it in a data directory and start on it.
func (s *Store) Backup(w io.Writer, size func(int64)) (int64, error) {
	db, err := s.handle()
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.View(func(tx *bolt.Tx) error {
		if size != nil {
			size(tx.Size())
		}
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("back up queue store: %w", err)
	}
	return n, nil
}
