package gateway

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus metrics, in a registry of its own so that several
// servers can live in one process (tests) without colliding.
type metrics struct {
	registry        *prometheus.Registry
	connections     prometheus.Gauge
	clients         prometheus.Gauge
	framesIn        *prometheus.CounterVec
	framesOut       prometheus.Counter
	dispatches      *prometheus.CounterVec
	deliveries      *prometheus.CounterVec
	noRoute         prometheus.Counter
	errors          *prometheus.CounterVec
	slowConsumers   prometheus.Counter
	authFailures    prometheus.Counter
	authRateLimited prometheus.Counter
	rejected        *prometheus.CounterVec
	routeSeconds    prometheus.Histogram

	// Children resolved once, so the hot path does no label lookups.
	framesInByOp  [opError + 2]prometheus.Counter // ops 0-8, then "other"
	dispatchByT   map[string]prometheus.Counter   // read-only after newMetrics
	deliveriesByT map[string]prometheus.Counter   // read-only after newMetrics
	invalidSent   prometheus.Counter
	fatalSent     prometheus.Counter
}

// eventLabels are the dispatch event types metrics are kept for; others count as "other".
var eventLabels = []string{"UPDATE_METADATA", "SEND", "BROADCAST", "QUERY_NODES", "QUEUE",
	"QUEUE_REQUEST", "QUEUE_REQUEST_CANCEL", "QUEUE_ACK", "QUEUE_NACK", "CLIENT_CONNECTED", "CLIENT_DISCONNECTED", "other"}

func newMetrics() *metrics {
	r := prometheus.NewRegistry()
	m := &metrics{
		registry: r,
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "singyeong_connections", Help: "Open websocket connections."}),
		clients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "singyeong_clients", Help: "Identified clients."}),
		framesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "singyeong_frames_received_total", Help: "Frames received, by op."}, []string{"op"}),
		framesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "singyeong_frames_sent_total", Help: "Frames written to clients."}),
		dispatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "singyeong_dispatches_total", Help: "Dispatches (op 4) received, by type."}, []string{"t"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "singyeong_deliveries_total", Help: "Routed messages queued to receivers, by type."}, []string{"t"}),
		noRoute: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "singyeong_no_route_total", Help: "SEND and BROADCAST that matched nobody."}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "singyeong_protocol_errors_total", Help: "Error frames sent, by op (3 or 8)."}, []string{"op"}),
		slowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "singyeong_slow_consumers_total", Help: "Connections closed for not reading fast enough."}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "singyeong_auth_failures_total", Help: "Wrong passwords, websocket and HTTP."}),
		authRateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "singyeong_auth_rate_limited_total", Help: "Auth attempts refused by the per-IP limit."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "singyeong_connections_rejected_total", Help: "Upgrades refused, by reason."}, []string{"reason"}),
		routeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "singyeong_route_seconds", Help: "Time to route one SEND or BROADCAST to its receivers' queues.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10)}),
	}
	r.MustRegister(m.connections, m.clients, m.framesIn, m.framesOut, m.dispatches, m.deliveries,
		m.noRoute, m.errors, m.slowConsumers, m.authFailures, m.authRateLimited, m.rejected,
		m.routeSeconds, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for op := range m.framesInByOp {
		label := strconv.Itoa(op)
		if op > opError {
			label = "other"
		}
		m.framesInByOp[op] = m.framesIn.WithLabelValues(label)
	}
	m.dispatchByT = make(map[string]prometheus.Counter, len(eventLabels))
	m.deliveriesByT = make(map[string]prometheus.Counter, len(eventLabels))
	for _, t := range eventLabels {
		m.dispatchByT[t] = m.dispatches.WithLabelValues(t)
		m.deliveriesByT[t] = m.deliveries.WithLabelValues(t)
	}
	m.invalidSent = m.errors.WithLabelValues("3")
	m.fatalSent = m.errors.WithLabelValues("8")
	return m
}

func (m *metrics) frameIn(op int64) prometheus.Counter {
	if op < 0 || op > opError {
		return m.framesInByOp[opError+1]
	}
	return m.framesInByOp[op]
}

func (m *metrics) dispatched(t string) prometheus.Counter {
	if c, ok := m.dispatchByT[t]; ok {
		return c
	}
	return m.dispatchByT["other"]
}

func (m *metrics) delivered(t string) prometheus.Counter {
	if c, ok := m.deliveriesByT[t]; ok {
		return c
	}
	return m.deliveriesByT["other"]
}
