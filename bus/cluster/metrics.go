package cluster

import "github.com/prometheus/client_golang/prometheus"

// metrics are the cluster's Prometheus metrics, served on the gateway's /metrics.
type metrics struct {
	framesIn   prometheus.Counter
	linkWrites prometheus.Counter
	linkCuts   prometheus.Counter
	goodbyes   prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		framesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "singyeong_cluster_frames_received_total", Help: "Frames received from other nodes' links."}),
		linkWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "singyeong_cluster_link_writes_total", Help: "Batches written to other nodes' links (one system call each)."}),
		linkCuts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "singyeong_cluster_link_cuts_total", Help: "Links cut because their peer fell too far behind."}),
		goodbyes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "singyeong_cluster_goodbyes_total", Help: "Clients told op 7 goodbye to balance the cluster."}),
	}
}

// collectors are the metrics plus gauges read from the cluster's state.
func (m *metrics) collectors(c *Cluster) []prometheus.Collector {
	members := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "singyeong_cluster_members", Help: "Members this node sees alive, itself included."},
		func() float64 {
			n := 0
			for _, m := range c.Members() {
				if m.State == stateAlive {
					n++
				}
			}
			return float64(n)
		})
	remote := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "singyeong_cluster_remote_clients", Help: "Clients of other nodes registered on this node."},
		func() float64 {
			c.mu.Lock()
			defer c.mu.Unlock()
			n := 0
			for _, m := range c.members {
				n += m.registered()
			}
			return float64(n)
		})
	return []prometheus.Collector{m.framesIn, m.linkWrites, m.linkCuts, m.goodbyes, members, remote}
}
