package queue

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the broker's Prometheus metrics; Broker.Collectors hands them to a registry.
type metrics struct {
	events        *prometheus.CounterVec
	enqueued      prometheus.Counter
	delivered     prometheus.Counter
	acked         prometheus.Counter
	returned      prometheus.Counter
	expired       prometheus.Counter
	requeued      prometheus.Counter
	purged        prometheus.Counter
	deadLettered  prometheus.Counter
	commitSeconds prometheus.Histogram
	commitChanges prometheus.Histogram
}

func newMetrics() *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "singyeong_queue_events_total",
			Help: "Queue message events: enqueued, delivered, acked, returned (NACK or consumer gone), expired (ACK timeout), dead_lettered, requeued (from the dead letters), purged."},
			[]string{"event"}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "singyeong_queue_commit_seconds",
			Help: "Time to write one batch of queue changes (bbolt commit with fsync).", Buckets: prometheus.ExponentialBuckets(1e-4, 2, 14)}),
		commitChanges: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "singyeong_queue_commit_changes",
			Help: "Message changes written per commit.", Buckets: prometheus.ExponentialBuckets(1, 4, 8)}),
	}
	m.enqueued = m.events.WithLabelValues("enqueued")
	m.delivered = m.events.WithLabelValues("delivered")
	m.acked = m.events.WithLabelValues("acked")
	m.returned = m.events.WithLabelValues("returned")
	m.expired = m.events.WithLabelValues("expired")
	m.requeued = m.events.WithLabelValues("requeued")
	m.purged = m.events.WithLabelValues("purged")
	m.deadLettered = m.events.WithLabelValues("dead_lettered")
	return m
}

// applied counts what a command did.
func (m *metrics) applied(c Command, res Result) {
	if res.N == 0 {
		return
	}
	n := float64(res.N)
	switch c.(type) {
	case Enqueue:
		m.enqueued.Add(n)
	case Deliver:
		m.delivered.Add(n)
	case Ack:
		m.acked.Add(n)
	case Return:
		m.returned.Add(n)
	case Expire:
		m.expired.Add(n)
	case RequeueDead:
		m.requeued.Add(n)
	case PurgeDead, Purge:
		m.purged.Add(n)
	}
}

func (m *metrics) commit(d time.Duration, changes int) {
	m.commitSeconds.Observe(d.Seconds())
	m.commitChanges.Observe(float64(changes))
}

// Collectors returns the broker's metrics: the counters and commit histograms above, and gauges
// of the messages held by state and of their bytes, read when scraped.
func (b *Broker) Collectors() []prometheus.Collector {
	return []prometheus.Collector{b.metrics.events, b.metrics.commitSeconds, b.metrics.commitChanges, stateCollector{b}}
}

var (
	messagesDesc = prometheus.NewDesc("singyeong_queue_messages", "Messages held in every queue, by state.", []string{"state"}, nil)
	bytesDesc    = prometheus.NewDesc("singyeong_queue_bytes", "Stored size of every queued message.", nil, nil)
	waitingDesc  = prometheus.NewDesc("singyeong_queue_waiting_consumers", "Consumers with an outstanding QUEUE_REQUEST.", nil, nil)
)

// stateCollector reports the broker's totals when scraped.
type stateCollector struct{ b *Broker }

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- messagesDesc
	ch <- bytesDesc
	ch <- waitingDesc
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	b := c.b
	b.mu.Lock()
	var counts [Dead + 1]int
	for _, q := range b.m.queues {
		for s, n := range q.counts {
			counts[s] += n
		}
	}
	bytes := b.m.Bytes()
	waiting := 0
	for _, w := range b.waiting {
		waiting += w.len()
	}
	b.mu.Unlock()
	for s := Ready; s <= Dead; s++ {
		ch <- prometheus.MustNewConstMetric(messagesDesc, prometheus.GaugeValue, float64(counts[s]), s.String())
	}
	ch <- prometheus.MustNewConstMetric(bytesDesc, prometheus.GaugeValue, float64(bytes))
	ch <- prometheus.MustNewConstMetric(waitingDesc, prometheus.GaugeValue, float64(waiting))
}
