package boltstore

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mahou-go/mahou/internal/datadir"
	"github.com/mahou-go/mahou/kv"
)

// Config configures a Store. Zero fields take the defaults.
type Config struct {
	// Path is the bbolt file. Required.
	Path string
	// Logger receives the store's logs; nil discards them.
	Logger *slog.Logger
	// MaxRebuildBytes bounds the bytes copied rebuilding one rev from deltas; with MaxDepth it
	// decides when a rev is stored whole (a keyframe). Defaults to DefaultMaxRebuildBytes.
	MaxRebuildBytes int
	// MaxDepth bounds the delta steps of any rev. Defaults to DefaultMaxDepth.
	MaxDepth int
	// CommitInterval lets applied batches share one bbolt commit for up to this long (0:
	// commit every batch). CommitEntries commits earlier once that many entries are pending.
	CommitInterval time.Duration
	CommitEntries  int
}

// Defaults of Config.
const (
	DefaultMaxRebuildBytes = 8 << 20
	DefaultMaxDepth        = 256
	// DefaultMaxPageKeys caps one page of a key listing.
	DefaultMaxPageKeys = 10000
	// DefaultCommitEntries bounds the entries one group commit holds.
	DefaultCommitEntries = 4096
)

// Store is crush's state machine on bbolt. Apply is called by one goroutine at a time (raft
// serialises applies); reads are concurrent with each other and with Apply.
type Store struct {
	cfg Config
	log *slog.Logger

	// mu guards db against Restore swapping the file; every transaction holds it shared.
	// Lock order: mu, then writeMu, then notifyMu.
	mu sync.RWMutex
	db *bolt.DB

	// writeMu guards the open write transaction: pending, pendingN, pendingSince, flushTimer.
	writeMu      sync.Mutex
	pending      *applyTx
	pendingN     int
	pendingSince time.Time
	flushTimer   *time.Timer

	revision  atomic.Int64
	compacted atomic.Int64
	applied   atomic.Uint64
	// pendingApplied is the applied index of the open write transaction (applied when none).
	pendingApplied atomic.Uint64
	// lastTime is the newest revision time; only the applier and Restore touch it, under mu.
	lastTime int64

	// notifyMu guards changed, which is closed and replaced after every commit that changes
	// the store.
	notifyMu sync.Mutex
	changed  chan struct{}

	closed atomic.Bool
}

var _ kv.Reader = (*Store)(nil)

// New builds a Store; Open opens its file.
func New(cfg Config) *Store {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxRebuildBytes <= 0 {
		cfg.MaxRebuildBytes = DefaultMaxRebuildBytes
	}
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = DefaultMaxDepth
	}
	if cfg.CommitEntries <= 0 {
		cfg.CommitEntries = DefaultCommitEntries
	}
	return &Store{cfg: cfg, log: cfg.Logger, changed: make(chan struct{})}
}

// Open opens (creating if needed) the bbolt file and loads the counters.
func (s *Store) Open() error {
	if s.cfg.Path == "" {
		return errors.New("open store: no path")
	}
	if err := os.MkdirAll(filepath.Dir(s.cfg.Path), 0o750); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	db, err := openDB(s.cfg.Path)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.db = db
	return s.loadCounters()
}

func openDB(path string) (*bolt.DB, error) {
	// As etcd does: the freelist is rebuilt on open instead of written at every commit (every
	// commit is still fsynced), and the map is sized up front so growth rarely remaps.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, FreelistType: bolt.FreelistMapType,
		NoFreelistSync: true, InitialMmapSize: 256 << 20})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketKeys, bucketHist, bucketRevs, bucketForks} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		v := meta.Get(metaSchema)
		if v == nil {
			return meta.Put(metaSchema, u64(schemaVersion))
		}
		if got := readU64(v); got != schemaVersion {
			return fmt.Errorf("schema version %d, this build reads %d: use a matching crush", got, schemaVersion)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return db, nil
}

// loadCounters reads the meta bucket into memory. Callers hold mu.
func (s *Store) loadCounters() error {
	return s.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		s.revision.Store(int64(readU64(m.Get(metaRevision))))
		s.compacted.Store(int64(readU64(m.Get(metaCompacted))))
		s.applied.Store(readU64(m.Get(metaApplied)))
		s.pendingApplied.Store(s.applied.Load())
		s.lastTime = int64(readU64(m.Get(metaLastTime)))
		return nil
	})
}

// Close closes the file. It is idempotent.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	_ = s.Flush()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}

// Revision implements kv.Reader.
func (s *Store) Revision() int64 { return s.revision.Load() }

// AppliedIndex is the raft index of the last applied command stored with the data.
func (s *Store) AppliedIndex() uint64 { return s.applied.Load() }

// PendingApplied is the raft index of the last command applied, committed or still in the open
// group commit; a reader that needs it visible calls Flush.
func (s *Store) PendingApplied() uint64 { return s.pendingApplied.Load() }

// Changed returns a channel closed at the next committed change.
func (s *Store) Changed() <-chan struct{} {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	return s.changed
}

func (s *Store) notify() {
	s.notifyMu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.notifyMu.Unlock()
}

// view runs fn in a read transaction.
func (s *Store) view(fn func(v *view) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return fmt.Errorf("read store: %w", kv.ErrUnavailable)
	}
	return s.db.View(func(tx *bolt.Tx) error {
		return fn(newView(tx, s))
	})
}

// Snapshot is a consistent read-only view of the whole file, taken at one applied index, that
// can be written out later and from another goroutine. Close releases it.
type Snapshot struct {
	s  *Store
	tx *bolt.Tx
	// Index is the applied index the snapshot contains.
	Index uint64
}

// BeginSnapshot opens a snapshot of the current state. Until it is closed, Restore waits.
func (s *Store) BeginSnapshot() (*Snapshot, error) {
	if err := s.Flush(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	if s.db == nil {
		s.mu.RUnlock()
		return nil, fmt.Errorf("snapshot store: %w", kv.ErrUnavailable)
	}
	tx, err := s.db.Begin(false)
	if err != nil {
		s.mu.RUnlock()
		return nil, fmt.Errorf("snapshot store: %w", err)
	}
	return &Snapshot{s: s, tx: tx, Index: readU64(tx.Bucket(bucketMeta).Get(metaApplied))}, nil
}

// WriteTo writes the snapshot as a bbolt file.
func (sn *Snapshot) WriteTo(w io.Writer) (int64, error) { return sn.tx.WriteTo(w) }

// Size is the number of bytes WriteTo writes.
func (sn *Snapshot) Size() int64 { return sn.tx.Size() }

// Close releases the snapshot. It is idempotent.
func (sn *Snapshot) Close() {
	if sn.tx == nil {
		return
	}
	_ = sn.tx.Rollback()
	sn.tx = nil
	sn.s.mu.RUnlock()
}

// Snapshot writes a consistent copy of the whole file to w.
func (s *Store) Snapshot(w io.Writer) error {
	sn, err := s.BeginSnapshot()
	if err != nil {
		return err
	}
	defer sn.Close()
	_, err = sn.WriteTo(w)
	return err
}

// Restore replaces the whole state with a snapshot written by Snapshot. No Apply may run
// concurrently (raft guarantees it).
func (s *Store) Restore(r io.Reader) error {
	tmp := s.cfg.Path + ".restore"
	if err := datadir.WriteFileSync(tmp, r); err != nil {
		return fmt.Errorf("restore store: %w", err)
	}
	// check the snapshot opens before replacing anything
	check, err := openDB(tmp)
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restore store: snapshot unreadable: %w", err)
	}
	check.Close()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != nil {
		// the snapshot replaces whatever was applied and not yet committed
		_ = s.pending.tx.Rollback()
		s.pending = nil
		if s.flushTimer != nil {
			s.flushTimer.Stop()
			s.flushTimer = nil
		}
	}
	if s.db != nil {
		if err := s.db.Close(); err != nil {
			return fmt.Errorf("restore store: close: %w", err)
		}
		s.db = nil
	}
	if err := os.Rename(tmp, s.cfg.Path); err != nil {
		return fmt.Errorf("restore store: %w", err)
	}
	if err := datadir.SyncDir(filepath.Dir(s.cfg.Path)); err != nil {
		return fmt.Errorf("restore store: %w", err)
	}
	db, err := openDB(s.cfg.Path)
	if err != nil {
		return err
	}
	s.db = db
	if err := s.loadCounters(); err != nil {
		return err
	}
	s.log.Info("store restored from snapshot", "revision", s.revision.Load(), "applied_index", s.applied.Load())
	s.notify()
	return nil
}

// Status implements kv.Reader.
func (s *Store) Status() (kv.Status, error) {
	st := kv.Status{
		Revision:          s.revision.Load(),
		CompactedRevision: s.compacted.Load(),
		AppliedIndex:      s.applied.Load(),
	}
	err := s.view(func(v *view) error {
		st.DBSizeBytes = v.tx.Size()
		forks := v.tx.Bucket(bucketForks)
		err := forks.ForEach(func(_, val []byte) error {
			f, err := decodeFork(val)
			if err != nil {
				return err
			}
			st.Keys += int(f.LiveKeys)
			return nil
		})
		if err != nil {
			return err
		}
		st.Retention, err = v.retention()
		return err
	})
	return st, err
}
