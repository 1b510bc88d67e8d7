package main

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestTTDoc_ReadsEveryRevOfCrush(t *testing.T) {
	s := startCrushServer(t)
	c := &cluster{system: "crush", dial: crushDial(s)}
	rng := rand.New(rand.NewPCG(1, 2))
	value := randomValue(rng, ttValueSize)
	var values [][]byte
	for range 20 {
		value[rng.IntN(len(value))] ^= 0xff
		values = append(values, append([]byte(nil), value...))
	}
	doc := &ttDoc{}
	if err := doc.write(context.Background(), c, values); err != nil {
		t.Fatalf("write: %v", err)
	}
	for i, p := range doc.points {
		if p != int64(i) {
			t.Fatalf("rev %d was written at point %d, want crush's 0-based rev %d", i+1, p, i)
		}
	}
	lat, err := doc.readRandom(context.Background(), c, rng, 200)
	if err != nil {
		t.Fatalf("read random revs: %v", err)
	}
	if lat.P50 <= 0 || lat.P99 < lat.P50 {
		t.Errorf("got p50 %v p99 %v, want 0 < p50 <= p99", lat.P50, lat.P99)
	}
}

func TestTTDoc_WrongValueFails(t *testing.T) {
	var acked, calls atomic.Int64
	c := &cluster{system: "fake", dial: fakeDial(&acked, &calls, 0, []byte("not what was written"))}
	doc := &ttDoc{}
	if err := doc.write(context.Background(), c, [][]byte{[]byte("a"), []byte("b")}); err != nil {
		t.Fatalf("write: %v", err)
	}
	_, err := doc.readRandom(context.Background(), c, rand.New(rand.NewPCG(1, 2)), 10)
	if err == nil || !strings.Contains(err.Error(), "differ") {
		t.Errorf("got err %v, want a mismatch", err)
	}
}

func TestBoltInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const n, size = 256, 4096
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		for i := range n {
			if err := b.Put([]byte(keyName(i)), make([]byte, size)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// deleting half frees their pages: in-use drops, the file does not shrink
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("b"))
		for i := 0; i < n; i += 2 {
			if err := b.Delete([]byte(keyName(i))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	inUse, err := boltInUse(path)
	if err != nil {
		t.Fatalf("bolt in use: %v", err)
	}
	file, err := treeBytes(path)
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi := int64(n/2*size), int64(n/2*size*3); inUse < lo || inUse > hi {
		t.Errorf("in use %d bytes, want between %d and %d (half of %d values of %d B)", inUse, lo, hi, n, size)
	}
	if inUse >= file {
		t.Errorf("in use %d bytes, want less than the file's %d after deletes", inUse, file)
	}
	again, err := boltInUse(path)
	if err != nil || again != inUse {
		t.Errorf("measuring again: got %d (err %v), want %d: the measurement must not change the file", again, err, inUse)
	}
}

func TestMeasureUsage_Crush(t *testing.T) {
	dir := t.TempDir()
	s := startCrushServerIn(t, dir)
	c := &cluster{system: "crush", dial: crushDial(s)}
	values := make([][]byte, 50)
	for i := range values {
		values[i] = randomValue(rand.New(rand.NewPCG(uint64(i), 0)), ttValueSize)
	}
	if err := (&ttDoc{}).write(context.Background(), c, values); err != nil {
		t.Fatalf("write: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	u, err := measureUsage("crush", dir)
	if err != nil {
		t.Fatalf("measure: %v", err)
	}
	// 50 random 4 KiB values share no bytes, so both the store and the log hold them all
	if min := int64(50 * ttValueSize); u.stateInUse < min || u.logFile < min || u.total < u.stateFile+u.logFile {
		t.Errorf("usage %+v: want state pages and log of at least %d B each, total at least both files", u, min)
	}
}
