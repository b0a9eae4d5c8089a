package load

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock jumps to whatever time the sender sleeps until.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	return ctx.Err()
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestOpenSchedule(t *testing.T) {
	o := Open{Rate: 250, Duration: 2 * time.Second}
	if got := o.Count(); got != 500 {
		t.Fatalf("count = %d, want 500", got)
	}
	for i, want := range map[int]time.Duration{0: 0, 1: 4 * time.Millisecond, 250: time.Second, 499: 1996 * time.Millisecond} {
		if got := o.At(epoch, i).Sub(epoch); got != want {
			t.Errorf("request %d at %v, want %v", i, got, want)
		}
	}
	if got := (Open{Rate: 3, Duration: time.Second}).At(epoch, 2).Sub(epoch); got != 666_666_666 {
		t.Errorf("third of 3/s at %v, want 666.666666ms (no accumulated rounding)", got)
	}
}

// Every request is sent on schedule while none has answered yet, and each
// latency counts from its scheduled time: the open loop does not wait for
// responses and so cannot hide a stall.
func TestOpenDoesNotWaitForResponses(t *testing.T) {
	clock := &fakeClock{now: epoch}
	o := Open{Rate: 100, Duration: time.Second, Clock: clock}
	var sent atomic.Int64
	release := make(chan struct{})
	done := make(chan Summary)
	go func() {
		done <- o.Run(context.Background(), func(context.Context, int) error {
			sent.Add(1)
			<-release
			return nil
		})
	}()
	for sent.Load() < 100 {
		time.Sleep(time.Millisecond) // waits for goroutines to start, not for the clock
	}
	// The stall: nothing answers for another half second after the last send.
	clock.advance(500 * time.Millisecond)
	close(release)
	s := <-done
	if s.Count != 100 || s.Errors != 0 {
		t.Fatalf("count %d errors %d, want 100 and 0", s.Count, s.Errors)
	}
	// Sent at 0, 10, …, 990 ms and all answered at 1490 ms: latencies 500 to
	// 1490 ms. A closed loop would have reported one slow request.
	if s.MaxMS != 1490 || s.MedianMS != 990 || s.P99MS != 1480 || s.ElapsedS != 1.49 {
		t.Errorf("max %v median %v p99 %v elapsed %v; want 1490, 990, 1480 ms and 1.49 s", s.MaxMS, s.MedianMS, s.P99MS, s.ElapsedS)
	}
	if s.Offered != 100 {
		t.Errorf("offered %v, want 100", s.Offered)
	}
}

func TestOpenInFlightLimit(t *testing.T) {
	clock := &fakeClock{now: epoch}
	release := make(chan struct{})
	var sent atomic.Int64
	done := make(chan Summary)
	go func() {
		done <- Open{Rate: 1000, Duration: 10 * time.Millisecond, MaxInFlight: 4, Clock: clock}.Run(context.Background(),
			func(context.Context, int) error {
				sent.Add(1)
				<-release
				return nil
			})
	}()
	// The sender never blocks on the limit, so it reaches the end while 4 are stuck.
	for sent.Load() < 4 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	s := <-done
	if s.Count != 4 || s.Errors != 6 || s.FirstError != errOverload.Error() {
		t.Fatalf("count %d errors %d (%q), want 4 sent and 6 refused", s.Count, s.Errors, s.FirstError)
	}
}

func TestClosed(t *testing.T) {
	clock := &fakeClock{now: epoch}
	boom := errors.New("boom")
	var seen sync.Map
	s := Closed{Workers: 3, N: 30, Clock: clock}.Run(context.Background(), func(_ context.Context, i int) error {
		if _, dup := seen.LoadOrStore(i, true); dup {
			t.Errorf("request %d sent twice", i)
		}
		clock.advance(time.Millisecond)
		if i%10 == 0 {
			return boom
		}
		return nil
	})
	if s.Count != 27 || s.Errors != 3 || s.FirstError != "boom" {
		t.Fatalf("count %d errors %d (%q), want 27 and 3", s.Count, s.Errors, s.FirstError)
	}
	if s.ElapsedS != 0.03 || s.Throughput != 900 {
		t.Errorf("elapsed %v throughput %v, want 0.03 s and 900/s", s.ElapsedS, s.Throughput)
	}
}

func TestClosedDuration(t *testing.T) {
	clock := &fakeClock{now: epoch}
	s := Closed{Workers: 1, Duration: time.Second, Clock: clock}.Run(context.Background(), func(context.Context, int) error {
		clock.advance(100 * time.Millisecond)
		return nil
	})
	if s.Count != 10 {
		t.Fatalf("count %d, want 10 requests of 100 ms in 1 s", s.Count)
	}
}

func TestQuantile(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	s := Summarize(d)
	if s.Count != 100 || s.MedianMS != 50 || s.P95MS != 95 || s.P99MS != 99 || s.MaxMS != 100 {
		t.Errorf("got %+v, want median 50, p95 95, p99 99, max 100", s)
	}
	one := []time.Duration{7 * time.Millisecond}
	for _, q := range []float64{0, 0.5, 0.99, 1} {
		if got := Quantile(one, q); got != 7*time.Millisecond {
			t.Errorf("q%v of one sample = %v", q, got)
		}
	}
	if got := Quantile(nil, 0.5); got != 0 {
		t.Errorf("empty = %v", got)
	}
	// 1000 samples: p99 is the 990th, so the 10 slowest stay above it.
	var k []time.Duration
	for i := 1; i <= 1000; i++ {
		k = append(k, time.Duration(i))
	}
	if got := Quantile(k, 0.99); got != 990 {
		t.Errorf("p99 of 1..1000 = %v, want 990", got)
	}
}

func TestMerge(t *testing.T) {
	got := Merge(
		Summary{Count: 100, ElapsedS: 1, MedianMS: 1, P95MS: 5, P99MS: 9, MaxMS: 20},
		Summary{Count: 300, Errors: 2, FirstError: "boom", ElapsedS: 2, MedianMS: 3, P95MS: 4, P99MS: 30, MaxMS: 50},
		Summary{Count: 200, ElapsedS: 1, MedianMS: 2, P95MS: 6, P99MS: 10, MaxMS: 12},
	)
	want := Summary{Count: 600, Errors: 2, FirstError: "boom", ElapsedS: 4, Throughput: 150,
		MedianMS: 2, P95MS: 5, P99MS: 10, MaxMS: 50}
	if got != want {
		t.Errorf("Merge = %+v, want %+v", got, want)
	}
	if even := Merge(Summary{MedianMS: 1}, Summary{MedianMS: 4}); even.MedianMS != 2.5 {
		t.Errorf("median of two runs = %v, want 2.5", even.MedianMS)
	}
	if (Merge() != Summary{}) {
		t.Errorf("Merge of nothing = %+v", Merge())
	}
}
