package raftnode

import (
	"strconv"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics reports raft and state machine gauges at scrape time, plus latency histograms.
type metrics struct {
	n       *Node
	propose prometheus.Histogram
	batch   prometheus.Histogram

	state, term, commit, applied, lastLog, revision, compacted, dbSize *prometheus.Desc
}

func newMetrics(n *Node) *metrics {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("crush_"+name, help, nil, nil)
	}
	return &metrics{
		n: n,
		propose: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "crush_propose_duration_seconds",
			Help:    "Time from proposing a command to its durable application.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "crush_apply_batch_entries",
			Help:    "Log entries applied per state machine transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 8),
		}),
		state:     desc("raft_state", "Raft state: 0 follower, 1 candidate, 2 leader, 3 shutdown."),
		term:      desc("raft_term", "Current raft term."),
		commit:    desc("raft_commit_index", "Raft commit index."),
		applied:   desc("raft_applied_index", "Raft applied index."),
		lastLog:   desc("raft_last_log_index", "Last index in the raft log."),
		revision:  desc("store_revision", "Current store revision."),
		compacted: desc("store_compacted_revision", "Revision history is compacted to."),
		dbSize:    desc("store_db_size_bytes", "Size of the state machine file."),
	}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.propose.Describe(ch)
	m.batch.Describe(ch)
	for _, d := range []*prometheus.Desc{m.state, m.term, m.commit, m.applied, m.lastLog, m.revision, m.compacted, m.dbSize} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.propose.Collect(ch)
	m.batch.Collect(ch)
	r := m.n.raft
	term, _ := strconv.ParseFloat(r.Stats()["term"], 64)
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	gauge(m.state, float64(stateNumber(r.State())))
	gauge(m.term, term)
	gauge(m.commit, float64(r.CommitIndex()))
	gauge(m.applied, float64(r.AppliedIndex()))
	gauge(m.lastLog, float64(r.LastIndex()))
	if st, err := m.n.store.Status(); err == nil {
		gauge(m.revision, float64(st.Revision))
		gauge(m.compacted, float64(st.CompactedRevision))
		gauge(m.dbSize, float64(st.DBSizeBytes))
	}
}

func stateNumber(s raft.RaftState) int {
	switch s {
	case raft.Follower:
		return 0
	case raft.Candidate:
		return 1
	case raft.Leader:
		return 2
	}
	return 3
}
