package app

import (
	"context"

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
	p := NewBatch(w.store)
	result, err := w.decide(ctx, p, events[0], eventstore.Exact(int64(len(events))))
	if err != nil {
		return WebhookOutcome{}, nil, err
	}
	return describe(result), p.Appends(), nil
}
