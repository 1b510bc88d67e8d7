package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mahou-go/mahou/bus/queue"
	"github.com/mahou-go/mahou/internal/datadir"
)

// schemaVersion is the layout version in the meta bucket. Version 2 added meta/applied;
// Open upgrades a version 1 file in place and refuses any other.
const schemaVersion = 2

var (
	bucketMeta    = []byte("meta")
	bucketQueues  = []byte("queues")
	bucketRecords = []byte("records")
	bucketBodies  = []byte("bodies")
	keySchema     = []byte("schema")
	keyApplied    = []byte("applied")
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
	_ queue.Store        = (*Store)(nil)
	_ queue.Backuper     = (*Store)(nil)
	_ queue.ReplicaStore = (*Store)(nil)
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
	db, err := openDB(s.path)
	if err != nil {
		return err
	}
	s.db = db
	return nil
}

func openDB(path string) (*bolt.DB, error) {
	// As etcd does: the freelist is not written at every commit (Open rebuilds it by scanning
	// the file) and is kept as a map. Commits still fsync: durability is untouched.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: openTimeout, NoFreelistSync: true,
		FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("open queue store %s: %w", path, err)
	}
	if err := db.Update(initSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open queue store %s: %w", path, err)
	}
	return db, nil
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
	switch {
	case v == nil, len(v) == 8 && binary.BigEndian.Uint64(v) == 1:
		// new, or version 1 (no applied index: 0, as before any log entry)
		return meta.Put(keySchema, binary.BigEndian.AppendUint64(nil, schemaVersion))
	case len(v) != 8 || binary.BigEndian.Uint64(v) != schemaVersion:
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
func (s *Store) Save(changes []queue.Change) error { return s.save(changes, 0) }

// SaveApplied implements queue.ReplicaStore.
func (s *Store) SaveApplied(changes []queue.Change, index uint64) error {
	return s.save(changes, index)
}

// save writes changes, and index as the applied log index unless it is 0, in one transaction.
func (s *Store) save(changes []queue.Change, index uint64) error {
	db, err := s.handle()
	if err != nil {
		return err
	}
	return db.Update(func(tx *bolt.Tx) error {
		if index > 0 {
			if err := tx.Bucket(bucketMeta).Put(keyApplied, binary.BigEndian.AppendUint64(nil, index)); err != nil {
				return err
			}
		}
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

// Applied implements queue.ReplicaStore.
func (s *Store) Applied() (uint64, error) {
	db, err := s.handle()
	if err != nil {
		return 0, err
	}
	var index uint64
	err = db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyApplied)
		switch {
		case v == nil:
		case len(v) == 8:
			index = binary.BigEndian.Uint64(v)
		default:
			return fmt.Errorf("applied index %x: %w", v, queue.ErrCorrupt)
		}
		return nil
	})
	return index, err
}

// Snapshot implements queue.ReplicaStore: a bbolt read transaction, which writers do not wait
// for, held until the copy is closed.
func (s *Store) Snapshot() (queue.Snapshot, error) {
	db, err := s.handle()
	if err != nil {
		return nil, err
	}
	tx, err := db.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("snapshot queue store: %w", err)
	}
	return &snapshot{tx: tx}, nil
}

type snapshot struct {
	tx   *bolt.Tx
	once sync.Once
}

func (s *snapshot) WriteTo(w io.Writer) (int64, error) { return s.tx.WriteTo(w) }

func (s *snapshot) Close() error {
	var err error
	s.once.Do(func() { err = s.tx.Rollback() })
	return err
}

// Replace implements queue.ReplicaStore: the copy is written beside the file, synced, checked
// and renamed over it, so a failure midway leaves the old file.
func (s *Store) Replace(r io.Reader) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return errors.New("queue store not open")
	}
	tmp := s.path + ".restore"
	if err := datadir.WriteFileSync(tmp, r); err != nil {
		return fmt.Errorf("replace queue store: %w", err)
	}
	check, err := openDB(tmp)
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace queue store: the copy: %w", err)
	}
	check.Close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("replace queue store: %w", err)
	}
	s.db = nil
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("replace queue store: %w", err)
	}
	if err := datadir.SyncDir(filepath.Dir(s.path)); err != nil {
		return fmt.Errorf("replace queue store: %w", err)
	}
	db, err := openDB(s.path)
	if err != nil {
		return err
	}
	s.db = db
	return nil
}
