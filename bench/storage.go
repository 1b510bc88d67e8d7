package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// diskUsage is the disk space of one stopped node, in bytes.
type diskUsage struct {
	// stateInUse is the bbolt pages of the state store that hold data: the high-water mark
	// (tx.Size) less the free and pending pages. bbolt grows its file in steps of up to
	// 16 MiB, so this, not the file size, shows a small per-rev cost.
	stateInUse int64
	// stateFile is the state store's file size (crush state.db, etcd member/snap/db).
	stateFile int64
	// logFile is the log's file size (crush raft/raft.db; etcd member/wal, whose segments
	// are preallocated 64 MiB at a time).
	logFile int64
	// total is the size of every file in the data directory.
	total int64
}

// sub returns u - v field by field.
func (u diskUsage) sub(v diskUsage) diskUsage {
	return diskUsage{stateInUse: u.stateInUse - v.stateInUse, stateFile: u.stateFile - v.stateFile,
		logFile: u.logFile - v.logFile, total: u.total - v.total}
}

// statePaths returns a system's state store and log paths inside a data directory.
func statePaths(system, dataDir string) (state, log string) {
	if system == "etcd" {
		return filepath.Join(dataDir, "member", "snap", "db"), filepath.Join(dataDir, "member", "wal")
	}
	return filepath.Join(dataDir, "state.db"), filepath.Join(dataDir, "raft", "raft.db")
}

// measureUsage measures a stopped node's data directory.
func measureUsage(system, dataDir string) (diskUsage, error) {
	state, log := statePaths(system, dataDir)
	var u diskUsage
	var err error
	if u.stateInUse, err = boltInUse(state); err != nil {
		return u, err
	}
	if u.stateFile, err = treeBytes(state); err != nil {
		return u, err
	}
	if u.logFile, err = treeBytes(log); err != nil {
		return u, err
	}
	if u.total, err = treeBytes(dataDir); err != nil {
		return u, err
	}
	return u, nil
}

// boltInUse returns the bytes of a bbolt file's pages that are not free. The file must not be
// open elsewhere (its server is stopped). It is opened read-write because bbolt builds its free
// list only then; with NoFreelistSync the free list is rebuilt by a scan and never written
// back, and no transaction commits, so the file is not changed.
func boltInUse(path string) (int64, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	var size int64
	if err := db.View(func(tx *bolt.Tx) error {
		size = tx.Size()
		return nil
	}); err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	// Stats.FreeAlloc is only refreshed by write transactions, so count the pages here
	st := db.Stats()
	return size - int64(st.FreePageN+st.PendingPageN)*int64(db.Info().PageSize), nil
}

// treeBytes returns the apparent size of a file, or of every file under a directory.
func treeBytes(path string) (int64, error) {
	var total int64
	err := filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		return 0, fmt.Errorf("measure %s: %w", path, err)
	}
	return total, nil
}
