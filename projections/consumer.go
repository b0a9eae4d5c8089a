package projections

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/eventstore"
)

// maxBatch bounds the messages the projectors apply in one transaction.
const maxBatch = 256

// HandlerName names the projectors' consumer in dead letters, metrics and
// its requeue stream, apart from any worker.
const HandlerName = "projectors"

// busHandler is the runner's projectors as the bus runs them: one consumer
// group for all, each batch applied by every projector of its categories in
// one transaction. At a low rate a consumer's wake-up, read, commit and
// acknowledgement cost more than the few events each carries (make bench,
// scenario 2), and one order reaches four projectors in three waves
// (webhook, order, inventory events): one consumer wakes once for all.
// An event a projector fails to apply is retried, then dead-lettered.
func (r *Runner) busHandler() bus.Handler {
	var categories []string
	for _, p := range r.projectors {
		categories = append(categories, p.Categories()...)
	}
	slices.Sort(categories)
	return bus.Handler{Name: HandlerName, Group: consumerGroup(r.cfg.TopicPrefix),
		Categories: slices.Compact(categories), MaxBatch: maxBatch, Consumers: 1, Handle: r.apply}
}

// share is one projector's part of a batch: the events of its categories.
type share struct {
	p      Projector
	events []eventstore.Event
	at     []int // each event's index in the batch
}

// shares splits a batch among the runner's projectors, leaving out those
// with nothing in it.
func (r *Runner) shares(events []eventstore.Event) []share {
	var shares []share
	for _, p := range r.projectors {
		s, categories := share{p: p}, p.Categories()
		for i, e := range events {
			if slices.Contains(categories, eventstore.Category(e.StreamID)) {
				s.events, s.at = append(s.events, e), append(s.at, i)
			}
		}
		if len(s.events) > 0 {
			shares = append(shares, s)
		}
	}
	return shares
}

// apply applies a batch for every projector in one transaction. When that
// fails, each projector's share goes in a transaction of its own, and the
// failing projector's events each alone, so that one bad event holds back
// only itself, and only in its own read model. It returns each event's
// error.
func (r *Runner) apply(ctx context.Context, events []eventstore.Event) []error {
	errs := make([]error, len(events))
	shares := r.shares(events)
	applied, failed, err := applyShares(ctx, r.pool, shares, true)
	if err != nil {
		for i, s := range shares {
			r.applyAlone(ctx, s, i == failed, errs)
		}
		return errs
	}
	for i, s := range shares {
		observeBatch(s.p.Name(), applied[i], len(s.events)-applied[i])
	}
	return errs
}

// applyAlone applies one projector's share in its own transaction, or each
// event alone when the share is known to fail or does, and joins its errors
// to errs.
func (r *Runner) applyAlone(ctx context.Context, s share, failing bool, errs []error) {
	if !failing {
		applied, _, err := applyShares(ctx, r.pool, []share{s}, true)
		if err == nil {
			observeBatch(s.p.Name(), applied[0], len(s.events)-applied[0])
			return
		}
	}
	log := r.cfg.Logger.With("projector", s.p.Name())
	for i, e := range s.events {
		outcome, err := applyOnce(ctx, r.pool, s.p, e, true)
		observeApply(s.p.Name(), outcome, err)
		if err != nil && ctx.Err() == nil {
			log.Error("projector failed to apply an event", "stream", e.StreamID,
				"version", e.StreamVersion, "type", e.Type, "err", err)
		}
		errs[s.at[i]] = errors.Join(errs[s.at[i]], err)
	}
}

// applyShares applies each share (events of any streams, in any order and
// possibly repeated) to its projector in one transaction, each event at
// most once, then runs the Invalidators' AfterCommit; if announce is set, a
// transaction that applied anything notifies ProgressChannel as it commits.
// It returns how many of each share's events were applied (the rest were
// already; nil when the transaction failed) and, when a projector's apply
// or AfterCommit failed, that share's index (-1 when the failure was
// elsewhere).
func applyShares(ctx context.Context, pool *pgxpool.Pool, shares []share, announce bool) (applied []int, failed int, err error) {
	applied, failed = make([]int, len(shares)), -1
	batches := make([][]eventstore.Event, len(shares))
	err = inDeferredTx(ctx, pool, func(tx *deferredTx) error {
		for i, s := range shares {
			given := inStreamOrder(s.events)
			var err error
			if batches[i], applied[i], err = applyIn(ctx, tx, s.p, given, streamsOf(given)); err != nil {
				failed = i
				return err
			}
		}
		if announce && slices.ContainsFunc(applied, func(n int) bool { return n > 0 }) {
			_, err := tx.Exec(ctx, `SELECT pg_notify($1, '')`, ProgressChannel)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, failed, err
	}
	// Redeliveries invalidate again: a failed invalidation is retried with its message.
	for i, s := range shares {
		if err := afterCommit(ctx, s.p, slices.Concat(batches[i], s.events)); err != nil {
			return applied, i, fmt.Errorf("after the commit: %w", err)
		}
	}
	return applied, -1, nil
}
