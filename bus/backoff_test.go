package bus

import (
	"testing"
	"time"
)

// The retry policy's backoff is exponential: it starts at the first
// interval, doubles with each failure and stops at the cap.
func TestBackoffDoublesUpToItsCap(t *testing.T) {
	lo, hi := 200*time.Millisecond, 16*200*time.Millisecond
	var got []time.Duration
	b := time.Duration(0)
	for range 7 {
		b = nextBackoff(b, lo, hi)
		got = append(got, b)
	}
	want := []time.Duration{200, 400, 800, 1600, 3200, 3200, 3200}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("backoffs %v, want %v ms", got, want)
		}
	}
}
