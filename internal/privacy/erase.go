package privacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/shopify"
	"github.com/ordermill/ordermill/workers"
)

// HandlerName names the erasure worker's consumer group.
const HandlerName = "privacy"

// Eraser carries out customers/redact and shop/redact: it destroys data
// keys, scrubs the read models and their caches, and records the erasure as
// an event with no personal data.
type Eraser struct {
	store  *eventstore.Store
	keys   *Keyring
	models ReadModels
	log    *slog.Logger
	now    func() time.Time
}

// ReadModels erases personal data from the read models, which know where
// they keep it (projections.Redactor).
type ReadModels interface {
	// Exclusively runs fn while no read model is being rebuilt, so that no
	// rebuild copies what fn erases.
	Exclusively(ctx context.Context, fn func() error) error
	// EraseShop scrubs shop's rows in tx; after drops cached copies once tx
	// has committed.
	EraseShop(ctx context.Context, tx pgx.Tx, shop string) (after func(context.Context) error, err error)
	// EraseCustomer scrubs the rows of a customer's orders and of their
	// order.placed events in tx; after is as for EraseShop.
	EraseCustomer(ctx context.Context, tx pgx.Tx, shop string, orders, placed []uuid.UUID) (after func(context.Context) error, err error)
}

// NewEraser returns the eraser of models.
func NewEraser(store *eventstore.Store, keys *Keyring, models ReadModels, log *slog.Logger) *Eraser {
	if log == nil {
		log = slog.Default()
	}
	return &Eraser{store: store, keys: keys, models: models, log: log, now: time.Now}
}

// Handler is the eraser as a worker: it acts on the compliance records the
// webhook processor appends, so the webhook itself is answered at once.
func (x *Eraser) Handler() workers.Handler {
	return workers.Handler{Name: HandlerName, Categories: []string{"webhook"}, Handle: func(ctx context.Context, e eventstore.Event) error {
		if e.Type != (domain.WebhookComplianceRecorded{}).EventType() {
			return nil
		}
		var rec domain.WebhookComplianceRecorded
		if err := json.Unmarshal(e.Data, &rec); err != nil {
			x.log.ErrorContext(ctx, "undecodable compliance record", "stream", e.StreamID, "err", err)
			return nil
		}
		switch rec.Topic {
		case shopify.TopicCustomersRedact:
			return x.EraseCustomer(ctx, e, rec.Shop, rec.CustomerID)
		case shopify.TopicShopRedact:
			return x.EraseShop(ctx, e, rec.Shop)
		}
		return nil // a data request is answered on demand (Export)
	}}
}

// earlierWebhooksWait bounds how long an erasure waits for the webhooks
// captured before it; one unprocessed for longer is stuck (dead-lettered),
// and its outcome would come too late anyway.
const earlierWebhooksWait = 30 * time.Second

// awaitEarlierWebhooks waits until every webhook of shop captured in the hour
// before the compliance record source has an outcome, or until
// earlierWebhooksWait has passed. Webhook consumers run concurrently: an
// order webhook captured just before its customer's redaction and processed
// just after it would otherwise seal the order's personal fields under a
// new key once the old one is destroyed, out of the erasure's reach.
func (x *Eraser) awaitEarlierWebhooks(ctx context.Context, source eventstore.Event, shop string) error {
	deadline := time.Now().Add(earlierWebhooksWait)
	for {
		// A webhook's stream holds its capture at version 1 and its outcome at 2.
		var pending int
		if err := x.store.Pool().QueryRow(ctx, `SELECT count(*) FROM events r
			WHERE r.tenant_id = $1 AND r.event_type = 'webhook.received'
			  AND r.recorded_at > $2::timestamptz - interval '1 hour' AND r.recorded_at < $2
			  AND NOT EXISTS (SELECT FROM events o WHERE o.stream_id = r.stream_id AND o.stream_version = 2)`,
			shop, source.RecordedAt).Scan(&pending); err != nil {
			return fmt.Errorf("erase %s: webhooks still in flight: %w", shop, err)
		}
		if pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			x.log.WarnContext(ctx, "erasing while earlier webhooks are unprocessed", "shop", shop, "webhooks", pending)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// customerOrders returns the ids and order.placed event ids of the orders
// of a Shopify customer of shop.
func customerOrders(ctx context.Context, pool *pgxpool.Pool, shop string, customerID int64) (orders, placed []uuid.UUID, err error) {
	rows, err := pool.Query(ctx, `SELECT event_id, (data ->> 'order_id')::uuid FROM events
		WHERE event_type = 'order.placed' AND tenant_id = $1 AND data ->> 'customer_id' = $2
		ORDER BY global_position`, shop, strconv.FormatInt(customerID, 10))
	if err != nil {
		return nil, nil, err
	}
	var ev, order uuid.UUID
	_, err = pgx.ForEachRow(rows, []any{&ev, &order}, func() error {
		placed, orders = append(placed, ev), append(orders, order)
		return nil
	})
	return orders, placed, err
}

// EraseCustomer erases a Shopify customer of shop because of source (the
// compliance record), once the shop's earlier webhooks are processed (see
// awaitEarlierWebhooks). Running it again finds the key already destroyed,
// scrubs again (a projector may have caught up meanwhile) and records
// nothing new.
func (x *Eraser) EraseCustomer(ctx context.Context, source eventstore.Event, shop string, customerID int64) error {
	if err := x.awaitEarlierWebhooks(ctx, source, shop); err != nil {
		return err
	}
	pool := x.store.Pool()
	orders, placed, err := customerOrders(ctx, pool, shop, customerID)
	if err != nil {
		return fmt.Errorf("erase customer %d: %w", customerID, err)
	}
	var (
		n     int
		after func(context.Context) error
	)
	err = x.models.Exclusively(ctx, func() error {
		var err error
		if n, err = x.keys.Destroy(ctx, shop, CustomerSubject(customerID)); err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			after, err = x.models.EraseCustomer(ctx, tx, shop, orders, placed)
			return err
		})
		if err != nil {
			return fmt.Errorf("erase customer %d: scrub read models: %w", customerID, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := after(ctx); err != nil {
		return fmt.Errorf("erase customer %d: %w", customerID, err)
	}
	x.log.InfoContext(ctx, "customer erased", "shop", shop, "customer_id", customerID, "orders", len(orders), "keys_destroyed", n)
	return x.record(ctx, source, shop, domain.CustomerRedacted{Shop: shop, CustomerID: customerID, Orders: orders,
		KeysDestroyed: n, RedactedAt: x.now().UTC()})
}

// EraseShop erases every personal field of shop: all of its data keys, the
// personal columns of its read models (shadow copies included), its cached
// orders, its stored API responses (idempotency replays, which repeat what
// was written) and the error texts of its dead letters (which may quote
// what failed), once the shop's earlier webhooks are processed.
func (x *Eraser) EraseShop(ctx context.Context, source eventstore.Event, shop string) error {
	if err := x.awaitEarlierWebhooks(ctx, source, shop); err != nil {
		return err
	}
	pool := x.store.Pool()
	var (
		n     int
		after func(context.Context) error
	)
	err := x.models.Exclusively(ctx, func() error {
		var err error
		if n, err = x.keys.DestroyShop(ctx, shop); err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if after, err = x.models.EraseShop(ctx, tx, shop); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE shop = $1`, shop); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE dead_letters SET error = $2 WHERE shop = $1`, shop, eventstore.Erased)
			return err
		})
		if err != nil {
			return fmt.Errorf("erase shop %s: scrub read models: %w", shop, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := after(ctx); err != nil {
		return fmt.Errorf("erase shop %s: %w", shop, err)
	}
	x.log.InfoContext(ctx, "shop erased", "shop", shop, "keys_destroyed", n)
	return x.record(ctx, source, shop, domain.ShopRedacted{Shop: shop, KeysDestroyed: n, RedactedAt: x.now().UTC()})
}

// record appends the erasure with an id derived from its source, so a
// repeated run records it once.
func (x *Eraser) record(ctx context.Context, source eventstore.Event, shop string, e domain.Event) error {
	stream := domain.RedactionStream(shop)
	_, err := app.Append(ctx, x.store, stream, []domain.Event{e}, app.By(shop, eventstore.Metadata{}), app.CausedBy(HandlerName, source))
	if errors.Is(err, eventstore.ErrDuplicateEvent) {
		return nil
	}
	return err
}
