package queue_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/queue"
)

func body(tb testing.TB, target, nonce, payload any) []byte {
	tb.Helper()
	b, err := queue.EncodeBody(target, nonce, payload)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// snapshot is a machine's observable state: every message with its record, by queue and id.
func snapshot(m *queue.Machine, ids []string) map[string]queue.Record {
	out := map[string]queue.Record{}
	for _, q := range m.Queues() {
		for _, id := range ids {
			if _, rec, ok := m.Message(q, id); ok {
				out[q+"/"+id] = rec
			}
		}
	}
	return out
}

func TestMachine_WorkedExample(t *testing.T) {
	m := queue.NewMachine()
	c := bus.ClientKey{App: "worker", ID: "c"}
	b := body(t, app("worker"), nil, "x")
	steps := []struct {
		cmd   queue.Command
		n     int
		id    string
		state queue.State
		seq   uint64
	}{
		{queue.Enqueue{Queue: "jobs", ID: "m1", At: 1, Body: b}, 1, "m1", queue.Ready, 1},
		{queue.Enqueue{Queue: "jobs", ID: "m2", At: 2, Body: b}, 1, "m2", queue.Ready, 2},
		{queue.Deliver{Queue: "jobs", ID: "m1", Consumer: c, At: 3, Deadline: 10}, 1, "m1", queue.InFlight, 1},
		{queue.Expire{Queue: "jobs", ID: "m1", At: 9, MaxDeliveries: 1}, 0, "m1", queue.InFlight, 1}, // not yet
		{queue.Expire{Queue: "jobs", ID: "m1", At: 10, MaxDeliveries: 1}, 1, "m1", queue.Dead, 3},
		{queue.RequeueDead{Queue: "jobs", All: true, At: 11}, 1, "m1", queue.Ready, 4},
		{queue.Deliver{Queue: "jobs", ID: "m2", Consumer: c, At: 12, Deadline: 20}, 1, "m2", queue.InFlight, 2},
		{queue.Return{Queue: "jobs", ID: "m2", Consumer: bus.ClientKey{App: "x", ID: "y"}, At: 13}, 0, "m2", queue.InFlight, 2},
		{queue.Return{Queue: "jobs", ID: "m2", Consumer: c, At: 13, ReadyAt: 50, MaxDeliveries: 5}, 1, "m2", queue.Delayed, 5},
		{queue.Release{Queue: "jobs", ID: "m2", At: 49}, 0, "m2", queue.Delayed, 5},
		{queue.Release{Queue: "jobs", ID: "m2", At: 50}, 1, "m2", queue.Ready, 6},
	}
	for i, s := range steps {
		res := m.Apply(s.cmd)
		_, rec, ok := m.Message("jobs", s.id)
		if res.N != s.n || res.Err != nil || !ok || rec.State != s.state || rec.Seq != s.seq {
			t.Fatalf("step %d %T: got n %d err %v, %s %+v; want n %d, %s seq %d", i, s.cmd, res.N, res.Err, s.id, rec, s.n, s.state, s.seq)
		}
	}
	if res := m.Apply(queue.Enqueue{Queue: "jobs", ID: "m1", Body: b}); !errors.Is(res.Err, queue.ErrDuplicate) {
		t.Errorf("duplicate id: got %v", res.Err)
	}
	if res := m.Apply(queue.Ack{Queue: "jobs", ID: "m2"}); res.N != 1 {
		t.Errorf("ack: %+v", res)
	}
	if res := m.Apply(queue.Ack{Queue: "jobs", ID: "m2"}); res.N != 0 {
		t.Errorf("second ack: %+v", res)
	}
	if s, _ := m.Stats("jobs"); s.Ready != 1 || s.Bytes != int64(len(b)) {
		t.Errorf("stats %+v", s)
	}
}

// randomCommands builds a random but plausible command sequence over a few queues, ids and
// consumers, with times that go forward.
func randomCommands(tb testing.TB, rng *rand.Rand, n int) ([]queue.Command, []string) {
	queues := []string{"a", "b"}
	consumers := []bus.ClientKey{{App: "w", ID: "1"}, {App: "w", ID: "2"}}
	targets := []any{nil, app("w"), app("v")}
	var ids []string
	var cmds []queue.Command
	at := int64(1000)
	for range n {
		at += rng.Int64N(50)
		q := queues[rng.IntN(len(queues))]
		c := consumers[rng.IntN(len(consumers))]
		pick := func() string {
			if len(ids) == 0 || rng.IntN(10) == 0 {
				return "unknown"
			}
			return ids[rng.IntN(len(ids))]
		}
		var cmd queue.Command
		switch k := rng.IntN(12); {
		case k < 3:
			id := fmt.Sprintf("m%d", len(ids))
			ids = append(ids, id)
			cmd = queue.Enqueue{Queue: q, ID: id, At: at, Body: body(tb, targets[rng.IntN(3)], int64(k), id)}
		case k < 5:
			cmd = queue.Deliver{Queue: q, ID: pick(), Consumer: c, At: at, Deadline: at + rng.Int64N(200)}
		case k == 5:
			cmd = queue.Ack{Queue: q, ID: pick()}
		case k == 6:
			cmd = queue.Return{Queue: q, ID: pick(), Consumer: c, At: at, ReadyAt: at + rng.Int64N(100) - 50,
				MaxDeliveries: uint32(rng.IntN(4)), Refund: rng.IntN(2) == 0}
		case k == 7:
			cmd = queue.Expire{Queue: q, ID: pick(), At: at, MaxDeliveries: uint32(rng.IntN(4))}
		case k == 8:
			cmd = queue.Release{Queue: q, ID: pick(), At: at}
		case k == 9:
			cmd = queue.RequeueDead{Queue: q, IDs: []string{pick(), pick()}, All: rng.IntN(3) == 0, At: at}
		case k == 10:
			cmd = queue.PurgeDead{Queue: q, IDs: []string{pick()}, All: rng.IntN(3) == 0}
		default:
			if rng.IntN(4) == 0 {
				cmd = queue.Purge{Queue: q}
			} else {
				cmd = queue.Ack{Queue: q, ID: pick()}
			}
		}
		cmds = append(cmds, cmd)
	}
	return cmds, ids
}

// TestMachine_Replicas applies random command sequences to a machine directly and to another
// through EncodeCommand/DecodeCommand, as a raft log would, and checks both reach the same
// state; then rebuilds a third from the changes as a store would keep them, and checks it too.
func TestMachine_Replicas(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		cmds, ids := randomCommands(t, rng, 400)
		direct, replica := queue.NewMachine(), queue.NewMachine()
		disk := newMemStore()
		for i, c := range cmds {
			r1 := direct.Apply(c)
			decoded, err := queue.DecodeCommand(queue.EncodeCommand(c))
			if err != nil {
				t.Fatalf("seed %d cmd %d %T: %v", seed, i, c, err)
			}
			if !reflect.DeepEqual(decoded, c) {
				t.Fatalf("seed %d: round trip of %#v gave %#v", seed, c, decoded)
			}
			if r2 := replica.Apply(decoded); r1.N != r2.N {
				t.Fatalf("seed %d cmd %d: results differ: %+v and %+v", seed, i, r1, r2)
			}
			disk.Save(queue.TakeChanges(direct))
		}
		want := snapshot(direct, ids)
		if got := snapshot(replica, ids); !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: replica differs:\n got %v\nwant %v", seed, got, want)
		}
		restored := queue.NewMachine()
		if err := disk.Load(func(name string) error { restored.RestoreQueue(name); return nil }, restored.Restore); err != nil {
			t.Fatal(err)
		}
		restored.Finish()
		if got := snapshot(restored, ids); !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: state rebuilt from the changes differs:\n got %v\nwant %v", seed, got, want)
		}
		for _, q := range direct.Queues() {
			a, _ := direct.Stats(q)
			b, _ := restored.Stats(q)
			if a != b {
				t.Fatalf("seed %d queue %s: stats %+v, restored %+v", seed, q, a, b)
			}
		}
	}
}

// memStore keeps changes in maps, as a store would.
type memStore struct {
	queues  map[string]bool
	records map[[2]string]queue.Record
	bodies  map[[2]string][]byte
}

func newMemStore() *memStore {
	return &memStore{queues: map[string]bool{}, records: map[[2]string]queue.Record{}, bodies: map[[2]string][]byte{}}
}

func (s *memStore) Save(changes []queue.Change) error {
	for _, ch := range changes {
		k := [2]string{ch.Queue, ch.Record.ID}
		s.queues[ch.Queue] = true
		if ch.Deleted {
			delete(s.records, k)
			delete(s.bodies, k)
			continue
		}
		s.records[k] = ch.Record
		if ch.Body != nil {
			s.bodies[k] = ch.Body
		}
	}
	return nil
}

func (s *memStore) Load(queueFn func(string) error, msgFn func(q string, rec queue.Record, body []byte) error) error {
	keys := make([][2]string, 0, len(s.records))
	for k := range s.records {
		keys = append(keys, k)
	}
	rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] }) // any order will do
	for q := range s.queues {
		if err := queueFn(q); err != nil {
			return err
		}
	}
	for _, k := range keys {
		if err := msgFn(k[0], s.records[k], s.bodies[k]); err != nil {
			return err
		}
	}
	return nil
}

func (s *memStore) Close() error { return nil }

func TestEncodings_RoundTrip(t *testing.T) {
	rec := queue.Record{ID: "m", Num: 3, State: queue.InFlight, Seq: 1 << 40, Deliveries: 7, EnqueuedAt: -5, At: 1 << 50,
		Consumer: bus.ClientKey{App: "a", ID: "b"}, Reason: "r"}
	enc, _ := rec.AppendBinary(nil)
	if got, err := queue.DecodeRecord(enc); err != nil || got != rec {
		t.Errorf("record: got %+v %v", got, err)
	}
	for _, bad := range [][]byte{nil, {2}, enc[:len(enc)-1], append(enc, 0)} {
		if _, err := queue.DecodeRecord(bad); err == nil {
			t.Errorf("record %x: decoded", bad)
		}
	}
	payload := map[string]any{"n": int64(1), "f": 1.0, "l": []any{"x", nil, true}}
	b := body(t, app("w"), "nonce", payload)
	target, nonce, got, err := queue.DecodeBody(b)
	if err != nil || !reflect.DeepEqual(target, app("w")) || nonce != "nonce" || !reflect.DeepEqual(got, payload) {
		t.Errorf("body: got %v %v %v %v", target, nonce, got, err)
	}
	if _, _, _, err := queue.DecodeBody([]byte{9}); !errors.Is(err, queue.ErrVersion) {
		t.Errorf("body version 9: got %v", err)
	}
	if _, err := queue.DecodeCommand([]byte{1, 99}); !errors.Is(err, queue.ErrCorrupt) {
		t.Errorf("command type 99: got %v", err)
	}
}

func FuzzDecodeCommand(f *testing.F) {
	cmds, _ := randomCommands(f, rand.New(rand.NewPCG(1, 2)), 30)
	for _, c := range cmds {
		f.Add(queue.EncodeCommand(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := queue.DecodeCommand(b)
		if err != nil {
			return
		}
		again, err := queue.DecodeCommand(queue.EncodeCommand(c))
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("%x decoded to %#v, which re-encodes to %#v (%v)", b, c, again, err)
		}
		queue.NewMachine().Apply(c) // never panics
	})
}

func FuzzDecodeRecord(f *testing.F) {
	enc, _ := queue.Record{State: queue.Dead, Seq: 3, Reason: "max_deliveries"}.AppendBinary(nil)
	f.Add(enc)
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := queue.DecodeRecord(b)
		if err != nil {
			return
		}
		again, _ := rec.AppendBinary(nil)
		if got, err := queue.DecodeRecord(again); err != nil || got != rec {
			t.Fatalf("%x: %+v re-decodes to %+v (%v)", b, rec, got, err)
		}
	})
}

func FuzzDecodeBody(f *testing.F) {
	f.Add(body(f, app("w"), "n", map[string]any{"a": []any{int64(1), 2.5}}))
	f.Add([]byte{1, 1, 0xc0, 1, 0xc0, 0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		target, nonce, payload, err := queue.DecodeBody(b)
		if err != nil {
			return
		}
		again, err := queue.EncodeBody(target, nonce, payload)
		if err != nil {
			t.Fatalf("%x decoded but does not re-encode: %v", b, err)
		}
		t2, n2, p2, err := queue.DecodeBody(again)
		if err != nil || !reflect.DeepEqual([]any{t2, n2, p2}, []any{target, nonce, payload}) {
			t.Fatalf("%x: round trip changed the values", b)
		}
	})
}
