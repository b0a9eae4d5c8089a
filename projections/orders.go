package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// Orders maintains orders_view and order_lines_view.
//
// Statuses are never computed here: each changed order is rebuilt as a
// domain.Order from its stream and its Snapshot is written as the row, so the
// domain stays the one source of truth for status rules. Order streams are
// short (placement, payment, a few shipments and refunds), so reading an
// order's earlier events by (stream_id, stream_version) costs about as much as
// reading its row would. A rebuild hands over whole streams and reads nothing.
type Orders struct {
	cache  redis.Cmdable // nil when nothing caches orders
	prefix string
	sealedReader
}

// NewOrders returns the orders projector; cache and prefix locate the API's
// order cache (cache may be nil).
func NewOrders(cache redis.Cmdable, prefix string) *Orders {
	return &Orders{cache: cache, prefix: prefix}
}

// Name implements Projector.
func (*Orders) Name() string { return "orders" }

// Categories implements Projector.
func (*Orders) Categories() []string { return []string{"order"} }

// Tables implements Projector.
func (*Orders) Tables() []string { return []string{"orders_view", "order_lines_view"} }

// PersonalData implements Projector: the customer's contact details and the order note.
func (*Orders) PersonalData() []PersonalData {
	return []PersonalData{{Table: "orders_view", Columns: []string{"email", "customer_name", "note"}, Customer: "id = ANY(@orders)"}}
}

// Apply implements Projector.
func (p *Orders) Apply(ctx context.Context, tx pgx.Tx, e eventstore.Event) error {
	return p.ApplyBatch(ctx, tx, []eventstore.Event{e})
}

// ApplyBatch implements BatchProjector. Lines never change identity after
// placement, so upserting them by (order_id, line_id) leaves no stale line
// behind.
func (p *Orders) ApplyBatch(ctx context.Context, tx pgx.Tx, events []eventstore.Event) error {
	history, err := p.history(ctx, tx, events)
	if err != nil {
		return err
	}
	// The batch and the streams' history are opened together, with their
	// keys locked in tx, so an erasure scrubs after this commits.
	events = append(history, events...)
	if err := p.openLocked(ctx, tx, events); err != nil {
		return err
	}
	runs, err := wholeStreams(events)
	if err != nil {
		return err
	}
	orders, lines, err := viewRows(runs)
	if err != nil {
		return err
	}
	if err := upsertRows(ctx, tx, "orders_view", "id", orders); err != nil {
		return err
	}
	return upsertRows(ctx, tx, "order_lines_view", "order_id, line_id", lines)
}

// FoldBatch implements BulkLoader.
func (p *Orders) FoldBatch(ctx context.Context, events []eventstore.Event) (Load, error) {
	if err := p.open(ctx, events); err != nil {
		return nil, err
	}
	runs, err := wholeStreams(events)
	if err != nil {
		return nil, err
	}
	orders, lines, err := viewRows(runs)
	if err != nil {
		return nil, err
	}
	return copyAll(copyRowsOf("orders_view", orders), copyRowsOf("order_lines_view", lines)), nil
}

// wholeStreams decodes events, split by stream, each from its first event.
func wholeStreams(events []eventstore.Event) ([]*streamRun, error) {
	runs, err := groupByStream(events)
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		if r.first != 1 {
			return nil, fmt.Errorf("%s: fold starts at version %d, want 1", r.stream, r.first)
		}
	}
	return runs, nil
}

// history returns, as stored, the events of the batch's streams that come
// before the batch.
func (p *Orders) history(ctx context.Context, tx pgx.Tx, events []eventstore.Event) ([]eventstore.Event, error) {
	var (
		streams []string
		before  []int64
		seen    = map[string]bool{}
	)
	for _, e := range events {
		if !seen[e.StreamID] {
			seen[e.StreamID] = true
			if e.StreamVersion > 1 {
				streams = append(streams, e.StreamID)
				before = append(before, e.StreamVersion)
			}
		}
	}
	if len(streams) == 0 {
		return nil, nil
	}
	// A LATERAL subquery with its own ORDER BY is not flattened into a join,
	// so each stream is an index range scan whatever the statistics say. As a
	// join, a cached plan made while the events table was small kept
	// scanning the whole table as it grew.
	rows, err := tx.Query(ctx, `SELECT b.stream_id, e.stream_version, e.event_type, e.data
		FROM unnest($1::text[], $2::int[]) AS b(stream_id, before),
		LATERAL (SELECT event_type, data, stream_version FROM events
		          WHERE stream_id = b.stream_id AND stream_version < b.before ORDER BY stream_version) e
		ORDER BY b.stream_id, e.stream_version`, streams, before)
	if err != nil {
		return nil, fmt.Errorf("load order history: %w", err)
	}
	var (
		stored []eventstore.Event
		e      eventstore.Event
		found  = map[string]int64{}
	)
	_, err = pgx.ForEachRow(rows, []any{&e.StreamID, &e.StreamVersion, &e.Type, &e.Data}, func() error {
		stored = append(stored, e)
		found[e.StreamID]++
		e.Data = nil // the next row scans into fresh memory
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load order history: %w", err)
	}
	for i, id := range streams {
		if found[id] != before[i]-1 {
			return nil, fmt.Errorf("%s: found %d earlier events, want %d", id, found[id], before[i]-1)
		}
	}
	return stored, nil
}

// orderViewRow and lineViewRow are rows of orders_view and order_lines_view,
// named by column for jsonb_populate_recordset.
type orderViewRow struct {
	ID                uuid.UUID             `json:"id"`
	Shop              string                `json:"shop"`
	Name              string                `json:"name"`
	ShopifyID         *int64                `json:"shopify_id"`
	Source            string                `json:"source"`
	Email             string                `json:"email"`
	CustomerName      string                `json:"customer_name"`
	Currency          string                `json:"currency"`
	Subtotal          int64                 `json:"subtotal"`
	Total             int64                 `json:"total"`
	Paid              int64                 `json:"paid"`
	Refunded          int64                 `json:"refunded"`
	Status            string                `json:"status"`
	FinancialStatus   string                `json:"financial_status"`
	FulfillmentStatus string                `json:"fulfillment_status"`
	ItemCount         int                   `json:"item_count"`
	PlacedAt          time.Time             `json:"placed_at"`
	CancelledAt       *time.Time            `json:"cancelled_at"`
	ShopifyUpdatedAt  *time.Time            `json:"shopify_updated_at"`
	Version           int                   `json:"version"`
	UpdatedAt         time.Time             `json:"updated_at"`
	Totals            domain.OrderTotals    `json:"totals"`
	Tags              []string              `json:"tags"`
	Note              string                `json:"note"`
	Test              bool                  `json:"test"`
	Deleted           bool                  `json:"deleted"`
	CancelReason      string                `json:"cancel_reason"`
	Shipments         []domain.Shipment     `json:"shipments"`
	RefundDetails     []domain.RefundDetail `json:"refund_details"`
}

type lineViewRow struct {
	OrderID           uuid.UUID `json:"order_id"`
	LineID            string    `json:"line_id"`
	Position          int       `json:"position"`
	Shop              string    `json:"shop"`
	SKU               string    `json:"sku"`
	VariantID         *int64    `json:"variant_id"`
	InventoryKey      string    `json:"inventory_key"`
	Title             string    `json:"title"`
	VariantTitle      string    `json:"variant_title"`
	Quantity          int       `json:"quantity"`
	OriginalQuantity  int       `json:"original_quantity"`
	FulfilledQuantity int       `json:"fulfilled_quantity"`
	RefundedQuantity  int       `json:"refunded_quantity"`
	UnitPrice         int64     `json:"unit_price"`
}

// viewRows replays each run, a whole stream, into its order's rows.
func viewRows(runs []*streamRun) ([]orderViewRow, []lineViewRow, error) {
	orders := make([]orderViewRow, len(runs))
	var lines []lineViewRow
	for i, r := range runs {
		o, err := domain.NewOrderFromHistory(r.events)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", r.stream, err)
		}
		s := o.Snapshot()
		if int64(s.Version) != r.last.StreamVersion {
			return nil, nil, fmt.Errorf("%s: replayed to version %d, stream is at %d", r.stream, s.Version, r.last.StreamVersion)
		}
		items := 0
		for j, l := range s.Lines {
			items += l.Quantity
			key, _ := l.InventoryKey() // "" for custom lines, which are not stocked
			lines = append(lines, lineViewRow{
				OrderID: s.ID, LineID: l.ID, Position: j, Shop: s.Shop, SKU: l.SKU, VariantID: nonZero(l.VariantID),
				InventoryKey: key, Title: l.Title, VariantTitle: l.VariantTitle, Quantity: l.Quantity, OriginalQuantity: l.OriginalQuantity, FulfilledQuantity: l.FulfilledQuantity,
				RefundedQuantity: l.RefundedQuantity, UnitPrice: l.UnitPrice,
			})
		}
		orders[i] = orderViewRow{
			ID: s.ID, Shop: s.Shop, Name: s.Name, ShopifyID: nonZero(s.ShopifyID), Source: s.Source, Email: s.Email,
			CustomerName: s.CustomerName, Currency: s.Currency, Subtotal: s.Subtotal, Total: s.Total, Paid: s.Paid,
			Refunded: s.Refunded, Status: string(s.Status), FinancialStatus: string(s.FinancialStatus),
			FulfillmentStatus: string(s.FulfillmentStatus), ItemCount: items, PlacedAt: s.PlacedAt,
			CancelledAt: nonZeroTime(s.CancelledAt), ShopifyUpdatedAt: nonZeroTime(s.ShopifyUpdatedAt),
			Version: s.Version, UpdatedAt: r.last.RecordedAt, // when the order's newest event was recorded
			Totals: s.Totals, Tags: nonNil(s.Tags), Note: s.Note, Test: s.Test, Deleted: s.Deleted,
			CancelReason: s.CancelReason, Shipments: nonNil(s.Shipments), RefundDetails: nonNil(s.RefundDetails),
		}
	}
	return orders, lines, nil
}

// AfterCommit implements Invalidator: it marks the cached copies of the
// orders the events changed stale, up to each order's newest version.
func (p *Orders) AfterCommit(ctx context.Context, events []eventstore.Event) error {
	if p.cache == nil {
		return nil
	}
	newest := map[string]int64{}
	for _, e := range events {
		id, err := uuid.Parse(strings.TrimPrefix(e.StreamID, "order-"))
		if err != nil {
			return fmt.Errorf("order stream %q: %w", e.StreamID, err)
		}
		key := OrderCacheKey(p.prefix, id)
		newest[key] = max(newest[key], e.StreamVersion)
	}
	// One script per key: keys of a batch may live in different cluster slots.
	_, err := p.cache.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for key, version := range newest {
			if err := staleOrderCache(ctx, pipe, key, version); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// upsertRows writes rows, structs whose json tags name table's columns, in one
// statement. Passing them as one jsonb array keeps the statement independent
// of the number of rows, and names every column so that none is filled by
// position.
func upsertRows[T any](ctx context.Context, tx pgx.Tx, table, key string, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	data, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("write %s: %w", table, err)
	}
	cols := columns[T]()
	var set []string
	for _, col := range cols {
		if !slices.Contains(strings.Split(key, ", "), col) {
			set = append(set, col+" = EXCLUDED."+col)
		}
	}
	list := strings.Join(cols, ", ")
	_, err = tx.Exec(ctx, `INSERT INTO `+table+` (`+list+`) SELECT `+list+`
		FROM jsonb_populate_recordset(NULL::`+table+`, $1) ON CONFLICT (`+key+`) DO UPDATE SET `+strings.Join(set, ", "), data)
	if err != nil {
		return fmt.Errorf("write %s: %w", table, err)
	}
	return nil
}

// columns names the columns of a row struct, by its fields' json tags.
func columns[T any]() []string {
	typ := reflect.TypeFor[T]()
	cols := make([]string, typ.NumField())
	for i := range cols {
		cols[i], _, _ = strings.Cut(typ.Field(i).Tag.Get("json"), ",")
	}
	return cols
}

func nonZero(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

// nonNil makes a nil slice an empty one: the columns are NOT NULL.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonZeroTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
