package boltstore_test

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/queue"
	"github.com/mahou-go/mahou/bus/queue/boltstore"
)

type loaded struct {
	queues []string
	msgs   map[string]queue.Record
	bodies map[string][]byte
}

func load(t *testing.T, s *boltstore.Store) loaded {
	t.Helper()
	l := loaded{msgs: map[string]queue.Record{}, bodies: map[string][]byte{}}
	err := s.Load(func(name string) error { l.queues = append(l.queues, name); return nil },
		func(q string, rec queue.Record, body []byte) error {
			l.msgs[q+"/"+rec.ID] = rec
			l.bodies[q+"/"+rec.ID] = body
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func open(t *testing.T, path string) *boltstore.Store {
	t.Helper()
	s := boltstore.New(path)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore_SaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queues.db")
	s := open(t, path)
	body, _ := queue.EncodeBody(nil, "n", "payload")
	rec := func(id string, num uint64, st queue.State) queue.Record {
		return queue.Record{ID: id, Num: num, State: st, Seq: num, EnqueuedAt: 5}
	}
	inFlight := rec("m2", 2, queue.InFlight)
	inFlight.Deliveries, inFlight.At, inFlight.Consumer = 1, 9, bus.ClientKey{App: "a", ID: "b"}
	err := s.Save([]queue.Change{
		{Queue: "q1", Record: rec("m1", 1, queue.Ready), Body: body},
		{Queue: "q1", Record: rec("m2", 2, queue.Ready), Body: body},
		{Queue: "q2", Record: rec("m3", 3, queue.Ready), Body: body},
		{Queue: "q1", Record: inFlight}, // a later change of the same message wins
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save([]queue.Change{{Queue: "q2", Record: queue.Record{ID: "m3", Num: 3}, Deleted: true}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	s = open(t, path)
	got := load(t, s)
	want := map[string]queue.Record{"q1/m1": rec("m1", 1, queue.Ready), "q1/m2": inFlight}
	if !reflect.DeepEqual(got.queues, []string{"q1", "q2"}) || !reflect.DeepEqual(got.msgs, want) {
		t.Errorf("got %v %v, want queues q1, q2 (empty now) and %v", got.queues, got.msgs, want)
	}
	if !reflect.DeepEqual(got.bodies["q1/m2"], body) {
		t.Errorf("body: got %x", got.bodies["q1/m2"])
	}
	if err := s.Check(); err != nil {
		t.Errorf("check: %v", err)
	}
}

func TestStore_RefusesOtherSchemaAndFindsCorruption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queues.db")
	s := open(t, path)
	body, _ := queue.EncodeBody(nil, nil, 1)
	if err := s.Save([]queue.Change{{Queue: "q", Record: queue.Record{ID: "m", Num: 1, State: queue.Ready, Seq: 1}, Body: body}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		q := tx.Bucket([]byte("queues")).Bucket([]byte("q"))
		if err := q.Bucket([]byte("bodies")).Put([]byte("orphan"), body); err != nil {
			return err
		}
		return q.Bucket([]byte("records")).Put(binary.BigEndian.AppendUint64(nil, 1), []byte{1, 99})
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	s = open(t, path)
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), "body without a record") || !strings.Contains(err.Error(), "q/0000000000000001") {
		t.Errorf("check: got %v, want the orphan body and the bad record", err)
	}
	if err := s.Load(func(string) error { return nil }, func(string, queue.Record, []byte) error { return nil }); !errors.Is(err, queue.ErrCorrupt) {
		t.Errorf("load: got %v, want ErrCorrupt", err)
	}
	s.Close()
	db, _ = bolt.Open(path, 0o600, nil)
	db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, 3))
	})
	db.Close()
	if err := boltstore.New(path).Open(); !errors.Is(err, queue.ErrVersion) {
		t.Errorf("schema 3: got %v, want ErrVersion", err)
	}
}

// TestStore_AppliedSnapshotReplace covers what a raft log needs: the applied index saved with
// the changes, a version 1 file upgraded in place (applied 0), and a snapshot of one store
// replacing another.
func TestStore_AppliedSnapshotReplace(t *testing.T) {
	dir := t.TempDir()
	v1 := filepath.Join(dir, "v1.db")
	db, err := bolt.Open(v1, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket([]byte("meta"))
		if _, err := tx.CreateBucket([]byte("queues")); err != nil {
			return err
		}
		return meta.Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, 1))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	old := open(t, v1)
	if got, err := old.Applied(); err != nil || got != 0 {
		t.Fatalf("applied of a version 1 file: got %d, %v; want 0", got, err)
	}

	src := open(t, filepath.Join(dir, "src.db"))
	body, _ := queue.EncodeBody(nil, nil, "p")
	rec := queue.Record{ID: "m1", Num: 1, State: queue.Ready, Seq: 1}
	if err := src.SaveApplied([]queue.Change{{Queue: "q", Record: rec, Body: body}}, 42); err != nil {
		t.Fatal(err)
	}
	if got, _ := src.Applied(); got != 42 {
		t.Fatalf("applied: got %d, want 42", got)
	}
	snap, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// The copy is what was there when the snapshot began, whatever is written meanwhile (a
	// write that must grow the file waits for the copy to be closed).
	saved := make(chan error, 1)
	go func() {
		saved <- src.SaveApplied([]queue.Change{{Queue: "q", Record: queue.Record{ID: "m1", Num: 1}, Deleted: true}}, 43)
	}()
	var buf strings.Builder
	if _, err := snap.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	snap.Close()
	if err := <-saved; err != nil {
		t.Fatal(err)
	}
	if err := old.Replace(strings.NewReader(buf.String())); err != nil {
		t.Fatal(err)
	}
	if got, _ := old.Applied(); got != 42 {
		t.Errorf("applied after replace: got %d, want 42", got)
	}
	if l := load(t, old); len(l.msgs) != 1 || !reflect.DeepEqual(l.bodies["q/m1"], body) {
		t.Errorf("after replace: got %+v, want m1", l)
	}
	if err := old.Replace(strings.NewReader("not a bbolt file")); err == nil {
		t.Error("replace accepted garbage")
	}
	if got, _ := old.Applied(); got != 42 {
		t.Errorf("a failed replace changed the store: applied %d", got)
	}
}
