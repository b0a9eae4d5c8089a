package projections

import (
	"context"
	"log/slog"

	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/eventstore"
)

// maxBatch bounds the messages a projector applies in one transaction.
const maxBatch = 256

// busHandler is p as the bus runs it, in batches, with the bus's retry
// policy: an event p fails to apply is retried, then dead-lettered.
func (r *Runner) busHandler(p Projector) bus.Handler {
	log := r.cfg.Logger.With("projector", p.Name())
	return bus.Handler{Name: DeadLetterName(p.Name()), Group: consumerGroup(r.cfg.TopicPrefix, p.Name()),
		Categories: p.Categories(), MaxBatch: maxBatch, Consumers: 1,
		Handle: func(ctx context.Context, events []eventstore.Event) []error {
			return r.apply(ctx, log, p, events)
		}}
}

// DeadLetterName names a projector in dead letters and its requeue stream,
// apart from a worker of the same name.
func DeadLetterName(projector string) string { return "projector." + projector }

// apply applies a batch in one transaction; when that fails, each event
// alone, so that one bad event holds back only itself. It returns each
// event's error.
func (r *Runner) apply(ctx context.Context, log *slog.Logger, p Projector, events []eventstore.Event) []error {
	errs := make([]error, len(events))
	applied, err := applyMany(ctx, r.pool, p, events)
	if applied > 0 {
		r.progress.Signal()
	}
	if err == nil {
		observeBatch(p.Name(), applied, len(events)-applied)
		return errs
	}
	for i, e := range events {
		outcome, err := ApplyOnce(ctx, r.pool, p, e)
		observeApply(p.Name(), outcome, err)
		if outcome == Applied {
			r.progress.Signal()
		}
		if err != nil && ctx.Err() == nil {
			log.Error("projector failed to apply an event", "stream", e.StreamID,
				"version", e.StreamVersion, "type", e.Type, "err", err)
		}
		errs[i] = err
	}
	return errs
}
