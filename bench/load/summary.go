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
