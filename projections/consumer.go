package projections

import (
	"context"
	"log/slog"
	"time"

	"github.com/ordermill/ordermill/eventstore"
)

// maxBatch bounds the messages a projector applies in one transaction.
const maxBatch = 256

// newConsumer feeds p from its consumer group in batches (see
// eventstore.BatchConsumer for why not through a Watermill router).
func (r *Runner) newConsumer(p Projector) *eventstore.BatchConsumer {
	var streams []string
	for _, cat := range p.Categories() {
		streams = append(streams, eventstore.Topic(r.cfg.TopicPrefix, cat))
	}
	log := r.cfg.Logger.With("projector", p.Name())
	return &eventstore.BatchConsumer{
		Redis: r.cfg.Redis, Group: consumerGroup(r.cfg.TopicPrefix, p.Name()), Consumer: r.cfg.ConsumerName,
		Streams: streams, ClaimIdle: r.cfg.ClaimIdle, MaxBatch: maxBatch,
		RetryMin: 50 * time.Millisecond, RetryMax: 5 * time.Second, Log: log,
		Handle: func(ctx context.Context, batch []eventstore.Delivery) []eventstore.Delivery {
			return r.apply(ctx, log, p, batch)
		},
	}
}

// apply applies a batch in one transaction; when that fails, each message
// alone, so that one bad event holds back only itself. A projector never
// gives up on an event: what fails is returned and retried until it applies.
func (r *Runner) apply(ctx context.Context, log *slog.Logger, p Projector, batch []eventstore.Delivery) []eventstore.Delivery {
	events := make([]eventstore.Event, len(batch))
	for i, m := range batch {
		events[i] = m.Event
	}
	applied, err := applyMany(ctx, r.pool, p, events)
	if applied > 0 {
		r.progress.Signal()
	}
	if err == nil {
		observeBatch(p.Name(), applied, len(batch)-applied)
		return nil
	}
	var failed []eventstore.Delivery
	for _, m := range batch {
		outcome, err := ApplyOnce(ctx, r.pool, p, m.Event)
		observeApply(p.Name(), outcome, err)
		if outcome == Applied {
			r.progress.Signal()
		}
		if err != nil {
			if ctx.Err() == nil {
				log.Error("projector failed to apply an event", "stream", m.Event.StreamID,
					"version", m.Event.StreamVersion, "type", m.Event.Type, "err", err)
			}
			failed = append(failed, m)
		}
	}
	return failed
}
