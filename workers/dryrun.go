package workers

import (
	"context"
	"errors"

	"github.com/ordermill/ordermill/eventstore"
)

// DryRun processes the stored webhook of stream as a redelivery would now,
// but writes nothing: it returns the outcome and every append processing
// would make, in order. Unlike Redeliver it runs even for a processed
// webhook, showing what today's code would make of it.
func (w *Webhooks) DryRun(ctx context.Context, stream string) (WebhookOutcome, []eventstore.StreamAppend, error) {
	events, err := w.store.ReadStream(ctx, stream, 1)
	if err != nil {
		return WebhookOutcome{}, nil, err
	}
	planned := []eventstore.StreamAppend{}
	dry := *w
	dry.planned = &planned
	outcome, err := dry.process(ctx, events[0], eventstore.Exact(int64(len(events))))
	return outcome, planned, err
}

// plan is Store.Update without the append: it records what decide returns.
func (w *Webhooks) plan(ctx context.Context, stream string, _ eventstore.ExpectedVersion,
	decide func(history []eventstore.Event) ([]eventstore.NewEvent, error)) (eventstore.AppendResult, error) {
	history, err := w.store.ReadStream(ctx, stream, 1)
	if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
		return eventstore.AppendResult{}, err
	}
	events, err := decide(history)
	if err != nil || len(events) == 0 {
		return eventstore.AppendResult{Stream: stream, Version: int64(len(history))}, err
	}
	*w.planned = append(*w.planned, eventstore.StreamAppend{Stream: stream, Expected: eventstore.Exact(int64(len(history))), Events: events})
	// Counting is all callers do with the result's events.
	return eventstore.AppendResult{Stream: stream, Version: int64(len(history) + len(events)),
		Events: make([]eventstore.Event, len(events))}, nil
}
