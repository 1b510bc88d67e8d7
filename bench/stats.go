package main

import (
	"math"
	"slices"
	"time"
)

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of sorted latencies: the
// smallest sample such that at least p% of the samples are less than or equal to it. It
// returns 0 for no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// rank = ceil(p/100 * n), computed in integers to avoid 0.99*100 rounding up a rank
	rank := int((int64(math.Round(p*1000))*int64(n) + 100_000 - 1) / 100_000)
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// median returns the median of xs (the mean of the two middle values for an even count), or 0.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// medianDuration is median for durations.
func medianDuration(ds []time.Duration) time.Duration {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(median(xs))
}

// latencies summarises one run's samples.
type latencies struct {
	P50, P99 time.Duration
}

// summarize sorts samples in place and returns their p50 and p99.
func summarize(samples []time.Duration) latencies {
	slices.Sort(samples)
	return latencies{P50: percentile(samples, 50), P99: percentile(samples, 99)}
}
