package app

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// ApplyShopifyOrder brings one of the caller's shop's orders to Shopify's
// snapshot, as reconciliation and an install's backfill read it from the
// Admin API: the rule an orders/* webhook follows (applyShopifyOrder), for
// a snapshot that is current (domain's ApplyCurrentShopifySnapshot), in a
// batch of its own. Its two streams are read in one query; a concurrent
// writer's conflict is retried on fresh history.
func (a *App) ApplyShopifyOrder(ctx context.Context, by Caller, snap domain.ShopifyOrder) (Result[*domain.Order], error) {
	var res Result[*domain.Order]
	err := RunBatch(ctx, a.store, func(b *Batch, _ int) error {
		decide := func() (err error) {
			res, err = applyShopifyOrder(ctx, b, by.Shop, snap, true, by.by())
			return err
		}
		if err := b.Prefetch(ctx, decide); err != nil {
			return err
		}
		return decide()
	})
	return res, err
}

// applyShopifyOrder plans in b bringing the shop's order to Shopify's
// snapshot: the newest updated_at wins (current: the snapshot was read from
// Shopify just now), and an order not seen before is placed, deleted
// already when its deletion arrived first and is held. opts say how the
// events are marked (By, CausedBy).
func applyShopifyOrder(ctx context.Context, b *Batch, shop string, snap domain.ShopifyOrder, current bool, opts ...Option) (Result[*domain.Order], error) {
	id := domain.ShopifyOrderID(shop, snap.ID)
	// Read with the order's stream (a prefetch collects both before it stops).
	deletedAt, deleted, err := heldDeletion(ctx, b, id)
	if err != nil && !errors.Is(err, errMissing) {
		return Result[*domain.Order]{}, err
	}
	res, err := Update(ctx, nil, domain.OrderStream(id), orderOrNew, func(order *domain.Order) ([]domain.Event, error) {
		apply := order.ApplyShopifySnapshot
		if current {
			apply = order.ApplyCurrentShopifySnapshot
		}
		events, err := apply(snap, shop)
		if err != nil || order.Version() != 0 || !deleted || len(events) == 0 {
			return events, err
		}
		return domain.PlaceDeleted(events, deletedAt)
	}, append(opts, Into(b))...)
	if err == nil {
		if overrides := overridesOf(res.Events); len(overrides) > 0 {
			b.OnCommit(func() { countOverrides(overrides) })
		}
	}
	return res, err
}

// overridesOf is the local state a snapshot's events overrode.
func overridesOf(events []domain.Event) []domain.Override {
	for _, e := range events {
		if a, ok := e.(domain.OrderSnapshotApplied); ok {
			return a.Overrides
		}
	}
	return nil
}

// orderOrNew rebuilds an order from its history; no history is an order
// not placed yet (one Shopify tells of for the first time).
func orderOrNew(history []domain.Event) (*domain.Order, error) {
	if len(history) == 0 {
		return &domain.Order{}, nil
	}
	return domain.NewOrderFromHistory(history)
}

// heldDeletion is when order id was deleted, if its deletion arrived
// before the order.
func heldDeletion(ctx context.Context, b *Batch, id uuid.UUID) (time.Time, bool, error) {
	stored, err := b.history(ctx, domain.OrderDeletionStream(id))
	if err != nil {
		return time.Time{}, false, err
	}
	history, err := eventstore.Decode(stored)
	if err != nil {
		return time.Time{}, false, err
	}
	h, err := domain.NewHeldDeletion(history)
	if err != nil {
		return time.Time{}, false, err
	}
	at, ok := h.DeletedAt()
	return at, ok, nil
}
