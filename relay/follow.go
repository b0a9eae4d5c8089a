package relay

import (
	"context"
	"time"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/database"
)

// FollowBatch is how many events Follow reads per query by default. Only a
// follower catching up reads full batches. Each query also pays for the
// commit horizon: relaying a backlog of 200,000 events ran about a quarter
// faster with 2,000 than with 500 (medians of 8 runs each).
const FollowBatch = 2000

// FollowOptions tune how Follow waits for new events.
type FollowOptions struct {
	BatchSize int // default FollowBatch
	// PollInterval bounds how long a committed event can wait unseen when a
	// notification is lost or its rows are still behind an older open
	// transaction, after a wake-up. Polls that find nothing double it, up
	// to IdlePollInterval, so that an idle follower costs next to nothing;
	// a wake-up brings it back.
	PollInterval     time.Duration
	IdlePollInterval time.Duration // default 10 × PollInterval
	// Linger is how long after a read that found less than a full batch the
	// next one waits, so that at a low rate one read (and the follower's
	// work on what it found) covers several commits.
	Linger time.Duration
}

func (o *FollowOptions) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = FollowBatch
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	if o.IdlePollInterval < o.PollInterval {
		o.IdlePollInterval = 10 * o.PollInterval
	}
}

// Follow reads store's "all" in commit order after from, handing each batch
// to handle, until ctx ends or handle fails. It wakes on LISTEN/NOTIFY and polls as a
// fallback, so losing the listener only costs latency. Events are handed over
// as stored, sealed: the relay publishes them so, and consumers open them.
func Follow(ctx context.Context, store *eventstore.Store, from eventstore.Position, opts FollowOptions, handle func(context.Context, []eventstore.Event) error) error {
	opts.defaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wake := make(chan struct{}, 1)
	go database.Listen(ctx, store.Pool(), eventstore.AppendedChannel, wake)

	poll := opts.PollInterval
	timer := time.NewTimer(poll)
	defer timer.Stop()
	pos := from
	// A follower that is caught up reads a few events per query, and one
	// catching up reads full batches: only then is a batch's room worth
	// allocating up front.
	expect := 0
	for {
		readAt := time.Now()
		events, err := store.ReadAllStored(ctx, pos, opts.BatchSize, expect)
		if err != nil {
			return err
		}
		expect = 0
		if len(events) > 0 {
			if err := handle(ctx, events); err != nil {
				return err
			}
			pos = events[len(events)-1].Position
			if len(events) == opts.BatchSize {
				expect = opts.BatchSize
				continue
			}
		}
		if len(events) > 0 {
			poll = opts.PollInterval
			// A wake-up that arrives meanwhile stays in wake for the select below.
			if err := sleep(ctx, time.Until(readAt.Add(opts.Linger))); err != nil {
				return err
			}
		}
		timer.Reset(poll)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
			poll = opts.PollInterval
		case <-timer.C:
			poll = min(2*poll, opts.IdlePollInterval)
		}
	}
}

// sleep waits d, or less if ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
