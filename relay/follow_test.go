package relay_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/relay"
)

// After a read that found less than a full batch, a follower with a linger
// lets commits gather: appends that each wake it on their own reach it as
// one batch.
func TestFollowLingersAfterAShortRead(t *testing.T) {
	store := eventstore.New(testenv.Pool(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := "linger-" + uuid.NewString()
	append1 := func(n int) {
		t.Helper()
		if _, err := store.Append(ctx, stream, eventstore.AnyVersion, ev("t.one", n)); err != nil {
			t.Fatal(err)
		}
	}
	append1(0)
	batches := make(chan int, 10)
	followed := make(chan error, 1)
	go func() {
		followed <- relay.Follow(ctx, store, eventstore.Start, relay.FollowOptions{Linger: 500 * time.Millisecond},
			func(_ context.Context, events []eventstore.Event) error {
				n := 0
				for _, e := range events {
					if e.StreamID == stream {
						n++
					}
				}
				if n > 0 {
					batches <- n
				}
				return nil
			})
	}()
	if n := <-batches; n != 1 {
		t.Fatalf("first batch: %d of the stream's events, want 1", n)
	}
	for i := 1; i <= 3; i++ {
		append1(i)
	}
	select {
	case n := <-batches:
		if n != 3 {
			t.Fatalf("three appends within the linger reached the follower in a batch of %d, want 3", n)
		}
	case err := <-followed:
		t.Fatalf("follow stopped: %v", err)
	}
}
