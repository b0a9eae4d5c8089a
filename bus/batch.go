package workers

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/database"
)

// maxBatch bounds the events a batch handler takes at once.
const maxBatch = 100

// batchConsumer is consumer i of a batch handler. An event that fails is
// handed over again after a backoff (RetryInterval, doubling) and
// dead-lettered on its MaxRetries+1st failure, as the Watermill middleware
// does for Handle. Failures while the database is unreachable do not count.
func (r *Router) batchConsumer(h Handler, i int, dead *deadLetterPublisher) *eventstore.BatchConsumer {
	log := r.cfg.Logger.With("worker", h.Name)
	return &eventstore.BatchConsumer{
		Redis: r.cfg.Redis, Group: consumerGroup(r.cfg.TopicPrefix, h.Name), Consumer: r.consumerName(i),
		Streams: r.topics(h), ClaimIdle: r.cfg.ClaimIdle, MaxBatch: maxBatch,
		RetryMin: r.cfg.RetryInterval, RetryMax: r.cfg.RetryInterval * 16, Log: log,
		Handle: func(ctx context.Context, batch []eventstore.Delivery) []eventstore.Delivery {
			events := make([]eventstore.Event, len(batch))
			for i, d := range batch {
				events[i] = d.Event
			}
			errs := h.HandleBatch(ctx, events)
			var failed []eventstore.Delivery
			for i, d := range batch {
				err := errs[i]
				observeAttempt(h.Name, err)
				switch {
				case err == nil:
				case ctx.Err() != nil:
					failed = append(failed, d) // stopping: it stays pending for the next run
				case database.Unreachable(err):
					log.Warn("worker failed with the database unreachable; retrying", "stream", d.Event.StreamID, "version", d.Event.StreamVersion, "err", err)
					failed = append(failed, d) // not the event's fault: the try does not count
				case d.Failures < r.cfg.MaxRetries:
					log.Warn("worker failed; retrying", "stream", d.Event.StreamID, "version", d.Event.StreamVersion, "err", err)
					d.Failures++
					failed = append(failed, d)
				default:
					if err := r.deadLetter(ctx, dead, h, d, err); err != nil {
						log.Error("could not dead-letter an event", "stream", d.Event.StreamID, "err", err)
						failed = append(failed, d)
					}
				}
			}
			return failed
		},
	}
}

// deadLetter records d as the poison-queue middleware would.
func (r *Router) deadLetter(ctx context.Context, dead *deadLetterPublisher, h Handler, d eventstore.Delivery, cause error) error {
	msg, err := eventstore.ToMessage(d.Event)
	if err != nil {
		return err
	}
	msg.SetContext(ctx)
	msg.Metadata.Set(MetaWorker, h.Name)
	msg.Metadata.Set(middleware.PoisonedTopicKey, d.Stream)
	msg.Metadata.Set(middleware.ReasonForPoisonedKey, failure(h, d.Event, cause).Error())
	return dead.Publish(DeadLetterTopic(r.cfg.TopicPrefix), msg)
}
