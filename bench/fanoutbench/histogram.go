package main

import (
	"math"
	"sync/atomic"
	"time"
)

// histogram records latencies: 1 µs buckets below fineLimit, 1 ms buckets
// above, up to coarseLimit (larger values land in the last bucket; the
// exact maximum is kept apart). Safe for concurrent add.
type histogram struct {
	fine   [fineBuckets]atomic.Uint32
	coarse [coarseBuckets]atomic.Uint32
	count  atomic.Int64
	max    atomic.Int64
	neg    atomic.Int64 // samples below zero (clock skew), counted as 0
}

const (
	fineBuckets   = 100_000 // 1 µs each: up to 100 ms
	coarseBuckets = 100_000 // 1 ms each: up to 100 s
	fineLimit     = fineBuckets * int64(time.Microsecond)
)

func newHistogram() *histogram { return &histogram{} }

// add records one latency in nanoseconds.
func (h *histogram) add(ns int64) {
	if ns < 0 {
		h.neg.Add(1)
		ns = 0
	}
	h.count.Add(1)
	for {
		m := h.max.Load()
		if ns <= m || h.max.CompareAndSwap(m, ns) {
			break
		}
	}
	if ns < fineLimit {
		h.fine[ns/int64(time.Microsecond)].Add(1)
		return
	}
	i := min((ns-fineLimit)/int64(time.Millisecond), coarseBuckets-1)
	h.coarse[i].Add(1)
}

// quantile returns the latency (ns, upper edge of its bucket, capped at the
// maximum) below which a fraction q of the samples fall; 0 when empty.
func (h *histogram) quantile(q float64) int64 {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen int64
	for i := range h.fine {
		seen += int64(h.fine[i].Load())
		if seen >= rank {
			return min(int64(i+1)*int64(time.Microsecond), h.max.Load())
		}
	}
	for i := range h.coarse {
		seen += int64(h.coarse[i].Load())
		if seen >= rank {
			if i == coarseBuckets-1 { // the overflow bucket
				return h.max.Load()
			}
			return min(fineLimit+int64(i+1)*int64(time.Millisecond), h.max.Load())
		}
	}
	return h.max.Load()
}

// cdf returns the latency at each of points evenly spaced quantiles in
// (0, 1], for charting.
func (h *histogram) cdf(points int) []cdfPoint {
	if h.count.Load() == 0 {
		return nil
	}
	out := make([]cdfPoint, 0, points)
	for i := 1; i <= points; i++ {
		q := float64(i) / float64(points)
		out = append(out, cdfPoint{Q: q, Ms: float64(h.quantile(q)) / 1e6})
	}
	return out
}

// cdfPoint is one point of a latency CDF.
type cdfPoint struct {
	Q  float64 `json:"q"`
	Ms float64 `json:"ms"`
}
