package boltstore_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/mahou-go/mahou/kv"
	"github.com/mahou-go/mahou/kv/boltstore"
)

// BenchmarkApplyPut measures durable puts of 256 B values (each batch is one fsynced bbolt
// transaction), for batches of 1 and of 64 commands as raft delivers them under load.
func BenchmarkApplyPut(b *testing.B) {
	for _, batch := range []int{1, 64} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			h := newHarness(b)
			val := bytes.Repeat([]byte("v"), 256)
			b.SetBytes(256)
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				entries := make([]boltstore.Applied, 0, batch)
				for j := 0; j < batch; j++ {
					h.index++
					p := kv.Proposal{Time: time.Now(), Cmd: kv.Put{Fork: "default", Key: fmt.Sprintf("key-%d", (i+j)%10000), Value: val}}
					entries = append(entries, boltstore.Applied{Index: h.index, Proposal: &p})
				}
				h.s.Apply(entries)
			}
		})
	}
}

// BenchmarkGetCurrent measures reading the newest rev of a 256 B value.
func BenchmarkGetCurrent(b *testing.B) {
	h := newHarness(b)
	val := bytes.Repeat([]byte("v"), 256)
	for i := 0; i < 1000; i++ {
		h.ok(kv.Put{Fork: "default", Key: fmt.Sprintf("key-%d", i), Value: val})
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := h.s.Get("default", fmt.Sprintf("key-%d", i%1000), kv.At{}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// revHistory writes a 4 KiB random value and then n 1-byte edits of it.
func revHistory(b *testing.B, n int) *harness {
	h := newHarness(b)
	rng := rand.New(rand.NewPCG(1, 2))
	val := make([]byte, 4096)
	for i := range val {
		val[i] = byte(rng.IntN(256))
	}
	const batch = 256
	for i := 0; i < n; i += batch {
		entries := make([]boltstore.Applied, 0, batch)
		for j := 0; j < batch && i+j < n; j++ {
			val = bytes.Clone(val)
			val[rng.IntN(len(val))] = byte(rng.IntN(256))
			h.index++
			p := kv.Proposal{Time: time.Now(), Cmd: kv.Put{Fork: "default", Key: "doc", Value: val}}
			entries = append(entries, boltstore.Applied{Index: h.index, Proposal: &p})
		}
		h.s.Apply(entries)
	}
	return h
}

// BenchmarkGetOldRev reads a random one of 10,000 revs of a 4 KiB value (1-byte edits) and
// reports the p99 latency.
func BenchmarkGetOldRev(b *testing.B) {
	const revs = 10000
	h := revHistory(b, revs)
	rng := rand.New(rand.NewPCG(3, 4))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := h.s.Get("default", "doc", kv.AtRev(uint64(rng.IntN(revs)))); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
}

// BenchmarkStoragePerRev reports the bytes stored per rev for 1-byte edits of a 4 KiB value:
// "logical" counts the keys and values written to the history and revision buckets, "pages" the
// bbolt page bytes those buckets use.
func BenchmarkStoragePerRev(b *testing.B) {
	const revs = 10000
	for i := 0; i < b.N; i++ {
		h := revHistory(b, 1)
		before, err := h.s.BucketUsage()
		if err != nil {
			b.Fatal(err)
		}
		h2 := revHistory(b, revs)
		st, err := h2.s.BucketUsage()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.LogicalBytes)/revs, "logical-B/rev")
		b.ReportMetric(float64(st.PageBytes)/revs, "pages-B/rev")
		b.ReportMetric(float64(st.FileBytes-before.FileBytes)/revs, "file-B/rev")
	}
}
