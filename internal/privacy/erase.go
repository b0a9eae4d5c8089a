package privacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/projections"
	"github.com/ordermill/ordermill/workers"
)

// HandlerName names the erasure worker's consumer group.
const HandlerName = "privacy"

// Eraser carries out customers/redact and shop/redact: it destroys data
// keys, scrubs the read models and the order cache, and records the
// erasure as an event with no personal data.
type Eraser struct {
	store  *eventstore.Store
	keys   *Keyring
	cache  redis.Cmdable // nil when nothing caches orders
	prefix string
	log    *slog.Logger
	now    func() time.Time
}

// NewEraser returns the eraser; cache and prefix locate the API's order cache.
func NewEraser(store *eventstore.Store, keys *Keyring, cache redis.Cmdable, prefix string, log *slog.Logger) *Eraser {
	if log == nil {
		log = slog.Default()
	}
	return &Eraser{store: store, keys: keys, cache: cache, prefix: prefix, log: log, now: time.Now}
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
		case "customers/redact":
			return x.EraseCustomer(ctx, e, rec.Shop, rec.CustomerID)
		case "shop/redact":
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

// erasedText is what a scrubbed read-model field holds: what a rebuild from
// the events writes there once the key is gone. Empty fields stay empty.
const erasedText = `CASE WHEN %[1]s = '' THEN '' ELSE '` + eventstore.Erased + `' END`

// personalColumns are the read-model columns that hold personal data, with
// the column that finds a customer's rows: the order's id, or the id of the
// order.placed event that caused the row (byPlaced). Keep it in step with
// the projectors.
var personalColumns = []struct {
	table    string
	columns  []string
	key      string
	byPlaced bool
}{
	{table: "orders_view", columns: []string{"email", "customer_name", "note"}, key: "id"},
	{table: "emails_view", columns: []string{"to_address"}, key: "source_event_id", byPlaced: true},
}

// scrubbedOrder is a live orders_view row the scrub changed.
type scrubbedOrder struct {
	id      uuid.UUID
	version int64
}

// scrubReadModels scrubs the personal columns of shop's rows (of one
// customer's rows when customer is set) in every copy of the read models:
// the live tables and those a shadow rebuild keeps (projections.CopySchemas).
// It returns the live orders it scrubbed.
func scrubReadModels(ctx context.Context, tx pgx.Tx, shop string, customer *customerRows) ([]scrubbedOrder, error) {
	schemas := append([]string{"public"}, projections.CopySchemas...)
	tables := make([]string, len(personalColumns))
	for i, pc := range personalColumns {
		tables[i] = pc.table
	}
	rows, err := tx.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ANY($1) AND c.relname = ANY($2) AND c.relkind IN ('r', 'p')`, schemas, tables)
	if err != nil {
		return nil, err
	}
	present := map[string]bool{}
	var schema, table string
	if _, err := pgx.ForEachRow(rows, []any{&schema, &table}, func() error {
		present[schema+"."+table] = true
		return nil
	}); err != nil {
		return nil, err
	}
	var orders []scrubbedOrder
	for _, pc := range personalColumns {
		sets := make([]string, len(pc.columns))
		for i, c := range pc.columns {
			sets[i] = c + " = " + fmt.Sprintf(erasedText, c)
		}
		where, args := `shop = $1`, []any{shop}
		if customer != nil {
			where += ` AND ` + pc.key + ` = ANY($2)`
			args = append(args, customer.orders)
			if pc.byPlaced {
				args[1] = customer.placed
			}
		}
		for _, schema := range schemas {
			name := pgx.Identifier{schema, pc.table}
			if !present[schema+"."+pc.table] {
				continue
			}
			stmt := `UPDATE ` + name.Sanitize() + ` SET ` + strings.Join(sets, ", ") + ` WHERE ` + where
			if schema != "public" || pc.table != "orders_view" {
				if _, err := tx.Exec(ctx, stmt, args...); err != nil {
					return nil, err
				}
				continue
			}
			rows, err := tx.Query(ctx, stmt+` RETURNING id, version`, args...)
			if err != nil {
				return nil, err
			}
			var o scrubbedOrder
			if _, err := pgx.ForEachRow(rows, []any{&o.id, &o.version}, func() error {
				orders = append(orders, o)
				return nil
			}); err != nil {
				return nil, err
			}
		}
	}
	return orders, nil
}

// customerRows are a customer's orders and their order.placed events.
type customerRows struct{ orders, placed []uuid.UUID }

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
		n        int
		scrubbed []scrubbedOrder
	)
	err = projections.WithoutShadow(ctx, pool, func() error {
		var err error
		if n, err = x.keys.Destroy(ctx, shop, CustomerSubject(customerID)); err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			scrubbed, err = scrubReadModels(ctx, tx, shop, &customerRows{orders: orders, placed: placed})
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
	if err := x.forgetCached(ctx, scrubbed); err != nil {
		return err
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
		n        int
		scrubbed []scrubbedOrder
	)
	err := projections.WithoutShadow(ctx, pool, func() error {
		var err error
		if n, err = x.keys.DestroyShop(ctx, shop); err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if scrubbed, err = scrubReadModels(ctx, tx, shop, nil); err != nil {
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
	if err := x.forgetCached(ctx, scrubbed); err != nil {
		return err
	}
	x.log.InfoContext(ctx, "shop erased", "shop", shop, "orders", len(scrubbed), "keys_destroyed", n)
	return x.record(ctx, source, shop, domain.ShopRedacted{Shop: shop, KeysDestroyed: n, RedactedAt: x.now().UTC()})
}

// forgetCached drops the scrubbed orders from the API's order cache and
// holds off fills of the rows as they were read before the scrub.
func (x *Eraser) forgetCached(ctx context.Context, orders []scrubbedOrder) error {
	if x.cache == nil {
		return nil
	}
	// One key per call: keys of a Redis Cluster live in different slots.
	for _, o := range orders {
		if err := projections.HoldOffOrderCache(ctx, x.cache, x.prefix, o.id, o.version); err != nil {
			return fmt.Errorf("forget cached order: %w", err)
		}
	}
	return nil
}

// record appends the erasure with an id derived from its source, so a
// repeated run records it once.
func (x *Eraser) record(ctx context.Context, source eventstore.Event, shop string, e domain.Event) error {
	stream := domain.RedactionStream(shop)
	_, err := app.Append(ctx, x.store, stream, []domain.Event{e}, app.By(shop, eventstore.Metadata{}), workers.OutcomeIDs(HandlerName, source))
	if errors.Is(err, eventstore.ErrDuplicateEvent) {
		return nil
	}
	return err
}
