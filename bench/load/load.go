// Package load drives an operation at a fixed rate (open loop) or as fast as
// a fixed number of workers allow (closed loop) and summarises its latencies.
//
// The open loop is free of coordinated omission: sends follow a schedule fixed
// in advance, never wait for earlier responses, and each latency is measured
// from the send's scheduled time, so a stalled server cannot hide its stall by
// slowing the sender down.
package load

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is the time source; tests inject a fake one so no test sleeps.
type Clock interface {
	Now() time.Time
	// SleepUntil returns at t, or earlier with ctx's error.
	SleepUntil(ctx context.Context, t time.Time) error
}

// Wall is the real clock.
var Wall Clock = wall{}

type wall struct{}

func (wall) Now() time.Time { return time.Now() }

func (wall) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Op is one request; i numbers the requests of a run from 0.
type Op func(ctx context.Context, i int) error

// Open sends Rate requests per second for Duration.
type Open struct {
	Rate     float64
	Duration time.Duration
	// MaxInFlight bounds outstanding requests (default 10,000); a send due
	// while that many are outstanding is not made and counts as an error, so
	// an overloaded target shows as errors instead of exhausting the sender.
	MaxInFlight int
	Clock       Clock
}

// Count is how many requests the run sends.
func (o Open) Count() int { return int(math.Round(o.Rate * o.Duration.Seconds())) }

// At is the scheduled send time of request i: fixed from the start, so a
// late send does not shift the ones after it.
func (o Open) At(start time.Time, i int) time.Time {
	return start.Add(time.Duration(float64(i) * float64(time.Second) / o.Rate))
}

// Run sends the requests and waits for every response.
func (o Open) Run(ctx context.Context, op Op) Summary {
	clock := o.Clock
	if clock == nil {
		clock = Wall
	}
	limit := o.MaxInFlight
	if limit <= 0 {
		limit = 10_000
	}
	r := newRecorder(clock)
	var (
		wg       sync.WaitGroup
		inFlight atomic.Int64
	)
	for i := range o.Count() {
		at := o.At(r.start, i)
		if clock.SleepUntil(ctx, at) != nil {
			break
		}
		if inFlight.Load() >= int64(limit) {
			r.record(at, errOverload)
			continue
		}
		inFlight.Add(1)
		wg.Go(func() {
			defer inFlight.Add(-1)
			r.record(at, op(ctx, i))
		})
	}
	wg.Wait()
	return r.summary(o.Rate)
}

// Closed runs Workers loops that each send the next request as soon as the
// previous one answered, until N requests were sent or Duration has passed
// (whichever is set and comes first). It measures capacity.
type Closed struct {
	Workers  int
	N        int
	Duration time.Duration
	Clock    Clock
}

// Run sends the requests and waits for every response.
func (c Closed) Run(ctx context.Context, op Op) Summary {
	clock := c.Clock
	if clock == nil {
		clock = Wall
	}
	r := newRecorder(clock)
	var (
		wg   sync.WaitGroup
		next atomic.Int64
	)
	end := r.start.Add(c.Duration)
	for range max(c.Workers, 1) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if c.N > 0 && i >= c.N {
					return
				}
				start := clock.Now()
				if c.Duration > 0 && !start.Before(end) {
					return
				}
				r.record(start, op(ctx, i))
			}
		})
	}
	wg.Wait()
	return r.summary(0)
}

type overloadError struct{}

func (overloadError) Error() string { return "not sent: too many requests outstanding" }

var errOverload error = overloadError{}

// recorder collects latencies and errors from concurrent requests.
type recorder struct {
	clock Clock
	start time.Time

	mu        sync.Mutex
	latencies []time.Duration
	errors    int
	firstErr  error
	last      time.Time
}

func newRecorder(clock Clock) *recorder {
	now := clock.Now()
	return &recorder{clock: clock, start: now, last: now}
}

func (r *recorder) record(since time.Time, err error) {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.After(r.last) {
		r.last = now
	}
	if err != nil {
		r.errors++
		if r.firstErr == nil {
			r.firstErr = err
		}
		return
	}
	r.latencies = append(r.latencies, now.Sub(since))
}

func (r *recorder) summary(offered float64) Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summarize(r.latencies)
	s.Offered = offered
	s.Errors = r.errors
	if r.firstErr != nil {
		s.FirstError = r.firstErr.Error()
	}
	s.ElapsedS = r.last.Sub(r.start).Seconds()
	if s.ElapsedS > 0 {
		s.Throughput = float64(s.Count) / s.ElapsedS
	}
	return s
}
