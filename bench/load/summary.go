package load

import (
	"math"
	"slices"
	"time"
)

// Summary describes one run: successful requests, their latency percentiles
// (milliseconds) and the rate they completed at.
type Summary struct {
	// Offered is the open loop's target rate; 0 for a closed loop.
	Offered    float64 `json:"offered_per_s,omitempty"`
	Count      int     `json:"count"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	// ElapsedS runs from the first scheduled send to the last response.
	ElapsedS   float64 `json:"elapsed_s"`
	Throughput float64 `json:"throughput_per_s"`
	MedianMS   float64 `json:"median_ms"`
	P95MS      float64 `json:"p95_ms"`
	P99MS      float64 `json:"p99_ms"`
	MaxMS      float64 `json:"max_ms"`
}

// Summarize computes the percentiles of latencies (any order; sorted in place).
func Summarize(latencies []time.Duration) Summary {
	slices.Sort(latencies)
	ms := func(q float64) float64 { return float64(Quantile(latencies, q)) / float64(time.Millisecond) }
	return Summary{Count: len(latencies), MedianMS: ms(0.5), P95MS: ms(0.95), P99MS: ms(0.99), MaxMS: ms(1)}
}

// Quantile is the nearest-rank q-quantile of sorted: the smallest sample
// with at least q of all samples at or below it. Zero when empty.
func Quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Merge combines runs of one load into one summary: counts and elapsed time
// add up, so the throughput is the overall one; each percentile is the
// median of the runs' own (their latencies are not kept), and the maximum is
// the largest. The first error reported is the first run's that had one.
func Merge(runs ...Summary) Summary {
	var out Summary
	if len(runs) == 0 {
		return out
	}
	out.Offered = runs[0].Offered
	var medians, p95s, p99s []float64
	for _, r := range runs {
		out.Count += r.Count
		out.Errors += r.Errors
		if out.FirstError == "" {
			out.FirstError = r.FirstError
		}
		out.ElapsedS += r.ElapsedS
		out.MaxMS = max(out.MaxMS, r.MaxMS)
		medians, p95s, p99s = append(medians, r.MedianMS), append(p95s, r.P95MS), append(p99s, r.P99MS)
	}
	if out.ElapsedS > 0 {
		out.Throughput = float64(out.Count) / out.ElapsedS
	}
	out.MedianMS, out.P95MS, out.P99MS = median(medians), median(p95s), median(p99s)
	return out
}

// median is the middle value of xs (the mean of the middle two when even).
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
