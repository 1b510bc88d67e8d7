package queue_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mahou-go/mahou/bus"
	"github.com/mahou-go/mahou/bus/etf"
)

// BenchmarkBroker_DurableEnqueue measures confirmed enqueues per second on a bbolt file with
// fsync: 64 producers, each waiting for its confirmation before the next enqueue, sharing
// group commits. 256 B payloads.
func BenchmarkBroker_DurableEnqueue(b *testing.B) {
	e := newEnv(b, nil)
	payload := fmt.Sprintf("%0256d", 0)
	b.SetParallelism(32) // 64 producers on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		done := make(chan error, 1)
		for pb.Next() {
			if _, err := e.b.Enqueue("bench", app("nobody"), nil, payload, func(err error) { done <- err }); err != nil {
				b.Error(err)
				return
			}
			if err := <-done; err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// ackingConsumer acknowledges every message it gets and asks for the next one, from its own
// goroutine (Deliver runs under the broker's lock and must not call back).
type ackingConsumer struct {
	key  bus.ClientKey
	msgs chan string
}

func (c *ackingConsumer) Deliver(d *bus.Delivery) bool {
	c.msgs <- d.Payload.(etf.Struct)[2].Value.(string)
	return true
}

// BenchmarkBroker_EndToEnd measures messages enqueued (confirmed), delivered and acknowledged
// per second: 16 producers, 8 consumers, one message per request as in the protocol.
func BenchmarkBroker_EndToEnd(b *testing.B) {
	e := newEnv(b, nil)
	var consumers []*ackingConsumer
	for i := range 8 {
		c := &ackingConsumer{key: bus.ClientKey{App: "worker", ID: fmt.Sprint(i)}, msgs: make(chan string, 1)}
		e.index.Add(clientOf(c.key), c)
		consumers = append(consumers, c)
	}
	var acked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				e.b.Request("bench", c.key)
				select {
				case id := <-c.msgs:
					e.b.Ack("bench", id)
					acked.Add(1)
				case <-stop:
					return
				}
			}
		}()
	}
	payload := fmt.Sprintf("%0256d", 0)
	b.SetParallelism(8) // 16 producers on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		done := make(chan error, 1)
		for pb.Next() {
			if _, err := e.b.Enqueue("bench", app("worker"), nil, payload, func(err error) { done <- err }); err != nil {
				b.Error(err)
				return
			}
			<-done
		}
	})
	// Producers are done; wait for the consumers to acknowledge the rest.
	for acked.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(acked.Load())/b.Elapsed().Seconds(), "acked/s")
}
