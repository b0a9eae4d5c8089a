package projections

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/relay"
)

const shop = "demo.myshopify.com"

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

type fixture struct {
	ctx   context.Context
	pool  *pgxpool.Pool
	store *eventstore.Store
}

func newFixture(t testing.TB) *fixture {
	pool := testenv.Pool(t)
	return &fixture{ctx: context.Background(), pool: pool, store: eventstore.New(pool)}
}

// appendEvents appends domain events to stream and returns them as stored.
func (f *fixture) appendEvents(t testing.TB, stream string, events ...domain.Event) []eventstore.Event {
	t.Helper()
	enc, err := eventstore.Encode(shop, eventstore.Metadata{Source: "test"}, events...)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.store.Append(f.ctx, stream, eventstore.AnyVersion, enc...)
	if err != nil {
		t.Fatal(err)
	}
	return res.Events
}

func (f *fixture) applyOnce(t testing.TB, p Projector, e eventstore.Event, want Outcome) {
	t.Helper()
	got, err := ApplyOnce(f.ctx, f.pool, p, e)
	if err != nil {
		t.Fatalf("apply %s v%d: %v", e.StreamID, e.StreamVersion, err)
	}
	if got != want {
		t.Fatalf("apply %s v%d: outcome %v, want %v", e.StreamID, e.StreamVersion, got, want)
	}
}

// dump renders a projector's tables and bookkeeping as JSON rows, to compare
// read models built in different ways.
func (f *fixture) dump(t testing.TB, p Projector) []string {
	t.Helper()
	queries := map[string][]string{
		"orders": {`SELECT to_jsonb(o)::text FROM orders_view o ORDER BY id`,
			`SELECT to_jsonb(l)::text FROM order_lines_view l ORDER BY order_id, line_id`},
		"inventory": {`SELECT to_jsonb(i)::text FROM inventory_view i ORDER BY shop, key`},
		"webhooks":  {`SELECT to_jsonb(w)::text FROM webhooks_view w ORDER BY id`},
	}[p.Name()]
	queries = append(queries,
		`SELECT to_jsonb(s)::text FROM projection_streams s WHERE projection = '`+p.Name()+`' ORDER BY stream_id`,
		`SELECT (to_jsonb(g) - 'updated_at')::text FROM projection_progress g WHERE projection = '`+p.Name()+`'`)
	var out []string
	for _, q := range queries {
		rows, err := f.pool.Query(f.ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func (f *fixture) requireDump(t testing.TB, p Projector, want []string, what string) {
	t.Helper()
	if got := f.dump(t, p); !slices.Equal(got, want) {
		t.Fatalf("%s changed the read model:\n got %q\nwant %q", what, got, want)
	}
}

// row reads one row as JSON into a view row struct, with times in UTC.
func row[T any](t testing.TB, f *fixture, query string, args ...any) (T, bool) {
	t.Helper()
	var (
		v    T
		data []byte
	)
	err := f.pool.QueryRow(f.ctx, query, args...).Scan(&data)
	if err != nil || data == nil {
		return v, false
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v, true
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func orderRowOf(t testing.TB, f *fixture, id uuid.UUID) (orderViewRow, []lineViewRow) {
	t.Helper()
	o, ok := row[orderViewRow](t, f, `SELECT to_jsonb(o) FROM orders_view o WHERE id = $1`, id)
	if !ok {
		t.Fatalf("no orders_view row for %s", id)
	}
	o.PlacedAt, o.UpdatedAt = o.PlacedAt.UTC(), o.UpdatedAt.UTC()
	o.CancelledAt, o.ShopifyUpdatedAt = utc(o.CancelledAt), utc(o.ShopifyUpdatedAt)
	lines, _ := row[[]lineViewRow](t, f, `SELECT jsonb_agg(to_jsonb(l) ORDER BY position) FROM order_lines_view l WHERE order_id = $1`, id)
	return o, lines
}

func ptr[T any](v T) *T { return &v }

const bigVariant = 9007199254740993 // 2^53 + 1: must survive JSON and SQL exactly

func placed(id uuid.UUID) domain.OrderPlaced {
	return domain.OrderPlaced{
		OrderID: id, Shop: shop, Name: "#1001", Source: domain.SourceAPI, Email: "ann@example.com",
		CustomerName: "Ann Lee", Currency: "EUR", Subtotal: 4500, Total: 5000, PlacedAt: t0,
		Lines: []domain.PlacedLine{
			{ID: "l1", SKU: "TEE", Title: "Tee", Quantity: 2, UnitPrice: 1500},
			{ID: "l2", VariantID: bigVariant, Title: "Mug", Quantity: 1, UnitPrice: 1000},
			{ID: "l3", Title: "Gift wrap", Quantity: 1, UnitPrice: 500}, // custom: not stocked
		},
	}
}

func placedRow(id uuid.UUID) (orderViewRow, []lineViewRow) {
	return orderViewRow{
			ID: id, Shop: shop, Name: "#1001", Source: "api", Email: "ann@example.com", CustomerName: "Ann Lee",
			Currency: "EUR", Subtotal: 4500, Total: 5000, Status: "placed", FinancialStatus: "pending",
			FulfillmentStatus: "unfulfilled", ItemCount: 4, PlacedAt: t0, Version: 1,
			Totals: domain.OrderTotals{OriginalSubtotal: 4500, OriginalTotal: 5000}, Tags: []string{},
			Shipments: []domain.Shipment{}, RefundDetails: []domain.RefundDetail{},
		}, []lineViewRow{
			{OrderID: id, LineID: "l1", Position: 0, Shop: shop, SKU: "TEE", InventoryKey: "TEE", Title: "Tee", Quantity: 2, OriginalQuantity: 2, UnitPrice: 1500},
			{OrderID: id, LineID: "l2", Position: 1, Shop: shop, VariantID: ptr[int64](bigVariant), InventoryKey: "variant-9007199254740993", Title: "Mug", Quantity: 1, OriginalQuantity: 1, UnitPrice: 1000},
			{OrderID: id, LineID: "l3", Position: 2, Shop: shop, Title: "Gift wrap", Quantity: 1, OriginalQuantity: 1, UnitPrice: 500},
		}
}

func lq(id string, n int) domain.LineQuantity { return domain.LineQuantity{LineID: id, Quantity: n} }

var (
	paid = domain.OrderPaid{Amount: 5000, PaidAt: t0.Add(time.Minute)}
	cut  = t0.Add(time.Hour)
)

type orderCase struct {
	name   string
	after  []domain.Event // events after order.placed
	change func(o *orderViewRow, lines []lineViewRow)
}

// orderCases cover every order event type; change turns the placed rows
// into the expected ones.
var orderCases = []orderCase{
	{"placed", nil, func(*orderViewRow, []lineViewRow) {}},
	{"paid", []domain.Event{paid}, func(o *orderViewRow, _ []lineViewRow) {
		o.Paid, o.Status, o.FinancialStatus = 5000, "paid", "paid"
	}},
	{"partially fulfilled", []domain.Event{paid,
		domain.OrderFulfilled{FulfillmentID: "f1", Lines: []domain.LineQuantity{lq("l1", 1)}, FulfilledAt: cut},
	}, func(o *orderViewRow, lines []lineViewRow) {
		o.Paid, o.Status, o.FinancialStatus, o.FulfillmentStatus = 5000, "partially_fulfilled", "paid", "partial"
		lines[0].FulfilledQuantity = 1
	}},
	{"fulfilled in two shipments", []domain.Event{paid,
		domain.OrderFulfilled{FulfillmentID: "f1", Lines: []domain.LineQuantity{lq("l1", 1)}, FulfilledAt: cut},
		domain.OrderFulfilled{FulfillmentID: "f2", Lines: []domain.LineQuantity{lq("l1", 1), lq("l2", 1), lq("l3", 1)}, FulfilledAt: cut},
	}, func(o *orderViewRow, lines []lineViewRow) {
		o.Paid, o.Status, o.FinancialStatus, o.FulfillmentStatus = 5000, "fulfilled", "paid", "fulfilled"
		lines[0].FulfilledQuantity, lines[1].FulfilledQuantity, lines[2].FulfilledQuantity = 2, 1, 1
	}},
	{"unpaid and shipped on invoice", []domain.Event{
		domain.OrderFulfilled{FulfillmentID: "f1", Lines: []domain.LineQuantity{lq("l2", 1)}, FulfilledAt: cut},
	}, func(o *orderViewRow, lines []lineViewRow) {
		o.Status, o.FulfillmentStatus = "partially_fulfilled", "partial"
		lines[1].FulfilledQuantity = 1
	}},
	{"partially refunded", []domain.Event{paid,
		domain.OrderRefunded{RefundID: "r1", Amount: 1500, Lines: []domain.LineQuantity{lq("l1", 1)}, RefundedAt: cut},
	}, func(o *orderViewRow, lines []lineViewRow) {
		o.Paid, o.Refunded, o.Status, o.FinancialStatus = 5000, 1500, "partially_refunded", "partially_refunded"
		lines[0].RefundedQuantity = 1
	}},
	{"refunded in two parts", []domain.Event{paid,
		domain.OrderRefunded{RefundID: "r1", Amount: 1500, Lines: []domain.LineQuantity{lq("l1", 1)}, RefundedAt: cut},
		domain.OrderRefunded{RefundID: "r2", Amount: 3500, RefundedAt: cut},
	}, func(o *orderViewRow, lines []lineViewRow) {
		o.Paid, o.Refunded, o.Status, o.FinancialStatus = 5000, 5000, "refunded", "refunded"
		lines[0].RefundedQuantity = 1
	}},
	{"cancelled unpaid", []domain.Event{
		domain.OrderCancelled{Reason: "customer", CancelledAt: cut},
	}, func(o *orderViewRow, _ []lineViewRow) {
		o.Status, o.FinancialStatus, o.CancelledAt, o.CancelReason = "cancelled", "voided", ptr(cut), "customer"
	}},
	{"cancelled after payment, then refunded", []domain.Event{paid,
		domain.OrderCancelled{Reason: "fraud", CancelledAt: cut},
		domain.OrderRefunded{RefundID: "r1", Amount: 5000, RefundedAt: cut},
	}, func(o *orderViewRow, _ []lineViewRow) {
		o.Paid, o.Refunded, o.Status, o.FinancialStatus, o.CancelledAt, o.CancelReason = 5000, 5000, "cancelled", "refunded", ptr(cut), "fraud"
	}},
}

func TestOrdersProjection(t *testing.T) {
	f := newFixture(t)
	p := NewOrders(nil, "")
	var all []eventstore.Event
	for _, c := range orderCases {
		id := uuid.New()
		events := f.appendEvents(t, domain.OrderStream(id), append([]domain.Event{placed(id)}, c.after...)...)
		for _, e := range events {
			f.applyOnce(t, p, e, Applied)
		}
		all = append(all, events...)
		wantOrder, wantLines := placedRow(id)
		c.change(&wantOrder, wantLines)
		wantOrder.Version, wantOrder.UpdatedAt = len(events), events[len(events)-1].RecordedAt
		// Shipments and refunds are the domain's, stored as they are (see the domain's tests).
		o, err := domain.NewOrderFromHistory(append([]domain.Event{placed(id)}, c.after...))
		if err != nil {
			t.Fatal(err)
		}
		if st := o.Snapshot(); len(st.Shipments)+len(st.RefundDetails) > 0 {
			wantOrder.Shipments, wantOrder.RefundDetails = nonNil(st.Shipments), nonNil(st.RefundDetails)
		}
		gotOrder, gotLines := orderRowOf(t, f, id)
		if !reflect.DeepEqual(gotOrder, wantOrder) {
			t.Errorf("%s: orders_view\n got %+v\nwant %+v", c.name, gotOrder, wantOrder)
		}
		if !reflect.DeepEqual(gotLines, wantLines) {
			t.Errorf("%s: order_lines_view\n got %+v\nwant %+v", c.name, gotLines, wantLines)
		}
	}

	// A Shopify order keeps its id exact and follows newer snapshots.
	const shopifyID = 9007199254740995
	id := domain.ShopifyOrderID(shop, shopifyID)
	sp := placed(id)
	sp.Source, sp.ShopifyID, sp.ShopifyUpdatedAt = domain.SourceShopify, shopifyID, t0
	events := f.appendEvents(t, domain.OrderStream(id), sp, domain.OrderSnapshotApplied{ShopifyUpdatedAt: cut})
	for _, e := range events {
		f.applyOnce(t, p, e, Applied)
	}
	all = append(all, events...)
	wantOrder, _ := placedRow(id)
	wantOrder.Source, wantOrder.ShopifyID, wantOrder.ShopifyUpdatedAt = "shopify", ptr[int64](shopifyID), ptr(cut)
	wantOrder.Version, wantOrder.UpdatedAt = 2, events[1].RecordedAt
	if got, _ := orderRowOf(t, f, id); !reflect.DeepEqual(got, wantOrder) {
		t.Errorf("shopify order: orders_view\n got %+v\nwant %+v", got, wantOrder)
	}

	live := f.dump(t, p)
	for _, e := range all {
		f.applyOnce(t, p, e, Skipped)
	}
	f.requireDump(t, p, live, "redelivering every event")

	// Rebuilds in small batches (a transaction per stream or two) and in the
	// default size (all in one) give the rows applied live.
	for _, batch := range []int{3, 5000} {
		n, err := rebuild(f.ctx, f.store, p, batch, nil)
		if err != nil {
			t.Fatalf("rebuild in batches of %d: %v", batch, err)
		}
		if n != int64(len(all)) {
			t.Fatalf("rebuild replayed %d events, want %d", n, len(all))
		}
		f.requireDump(t, p, live, "rebuilding")
	}
}

func TestOrdersGap(t *testing.T) {
	f := newFixture(t)
	p := NewOrders(nil, "")
	id := uuid.New()
	events := f.appendEvents(t, domain.OrderStream(id), placed(id), paid)
	// v2 arrives first (v1's message is late): v1 is read from the event
	// store and both are applied; v1's message, when it comes, changes nothing.
	f.applyOnce(t, p, events[1], Applied)
	if o, _ := orderRowOf(t, f, id); o.Status != "paid" || o.Version != 2 {
		t.Fatalf("after v2 ahead of v1: status %s v%d, want paid v2", o.Status, o.Version)
	}
	after := f.dump(t, p)
	f.applyOnce(t, p, events[0], Skipped)
	f.requireDump(t, p, after, "the late predecessor")
}

// TestProjectorsThroughRelay runs the real path: events appended, published
// by the relay to Redis Streams, consumed by the runner's consumer groups.
func TestProjectorsThroughRelay(t *testing.T) {
	f := newFixture(t)
	client, prefix := testenv.Redis(t)
	f.run(t, f.relay(client, prefix), NewRunner(f.pool, RunnerConfig{Redis: client, TopicPrefix: prefix,
		ConsumerName: "test", Logger: slog.New(slog.DiscardHandler)}, All(client, prefix)...).Run)

	id := uuid.New()
	f.appendEvents(t, domain.OrderStream(id), placed(id))
	f.appendEvents(t, domain.InventoryStream(shop, "TEE"),
		domain.InventoryCounted{Shop: shop, Key: "TEE", OnHand: 1, Reason: "initial count"},
		domain.InventoryReserved{Shop: shop, Key: "TEE", OrderID: id, Quantity: 2, Backordered: 1})
	waitFor(t, "the order and its stock", func() bool {
		_, order := row[orderViewRow](t, f, `SELECT to_jsonb(o) FROM orders_view o WHERE id = $1`, id)
		inv, _ := row[inventoryViewRow](t, f, `SELECT to_jsonb(i) FROM inventory_view i WHERE shop = $1 AND key = 'TEE'`, shop)
		return order && inv.Backordered == 1
	})

	// The API caches the order; paying it must mark the cached copy stale.
	key := OrderCacheKey(prefix, id)
	cached := CachedOrder{Shop: shop, Version: 1, Body: []byte(`{"status":"placed"}`)}
	if err := FillOrderCache(f.ctx, client, key, cached, time.Minute); err != nil {
		t.Fatal(err)
	}
	f.appendEvents(t, domain.OrderStream(id), paid)
	waitFor(t, "the payment", func() bool {
		o, _ := orderRowOf(t, f, id)
		return o.Status == "paid"
	})
	b, err := client.Get(f.ctx, key).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if entry, err := DecodeCachedOrder(b); err != nil || !entry.Tombstone() || entry.Version != 2 {
		t.Fatalf("cache entry after the order changed: %+v, %v; want a tombstone at version 2", entry, err)
	}
}

// relay returns a relay run that publishes the store's events under prefix.
func (f *fixture) relay(client *redis.Client, prefix string) func(context.Context) error {
	pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: client}, watermill.NopLogger{})
	if err != nil {
		panic(err)
	}
	return relay.NewRelay(f.store, pub, relay.RelayConfig{
		TopicPrefix: prefix, Logger: slog.New(slog.DiscardHandler),
		Follow: relay.FollowOptions{BatchSize: 50, PollInterval: 50 * time.Millisecond},
	}).Run
}

// run runs each until the test ends.
func (f *fixture) run(t *testing.T, runs ...func(context.Context) error) {
	ctx, cancel := context.WithCancel(f.ctx)
	var wg sync.WaitGroup
	for _, run := range runs {
		wg.Go(func() {
			if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// waitFor polls cond; the deadline only bounds a hung test, it measures nothing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
