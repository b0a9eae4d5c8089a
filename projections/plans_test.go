package projections

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// A projector that reads back what an event builds on (its stream's earlier
// events, its row) reads only that, however much the table has grown since
// the statement was planned. The orders projector's history read, a join
// with unnest, kept the plan made while events was nearly empty (no ANALYZE
// ran to remake it) and scanned the whole table for every batch.

func TestOrdersHistoryReadsOnlyItsStreams(t *testing.T) {
	p := NewOrders(nil, "")
	requireLocalReads(t, "events", `INSERT INTO events (event_id, stream_id, stream_version, event_type, tenant_id, data)
		SELECT gen_random_uuid(), 'order-' || gen_random_uuid(), 1, 'order.note_added', $1, '{}'
		FROM generate_series(1, 20000)`,
		func(db testenv.Unanalyzed, _ int) {
			// v2 applied on its own, after v1: the projector reads v1 from the store.
			id := uuid.New()
			applyEach(t, db, p, domain.OrderStream(id), placed(id), paid)
			if o, _ := orderRowOf(t, &fixture{ctx: context.Background(), pool: db.Admin}, id); o.Status != "paid" || o.Version != 2 {
				t.Fatalf("order %s: status %s v%d, want paid v2", id, o.Status, o.Version)
			}
		})
}

func TestInventoryReadsOnlyItsRows(t *testing.T) {
	p := NewInventory()
	requireLocalReads(t, "inventory_view", `INSERT INTO inventory_view
		(shop, key, on_hand, reserved, available, backordered, version, updated_at)
		SELECT $1, 'other-' || g, 1, 0, 1, 0, 1, now() FROM generate_series(1, 20000) g`,
		func(db testenv.Unanalyzed, i int) {
			// The reservation, applied on its own, continues the count's row.
			key := "sku-" + uuid.NewString()
			applyEach(t, db, p, domain.InventoryStream(shop, key), withItem(key, []domain.Event{
				domain.InventoryCounted{OnHand: 10 + i, Reason: "initial count"},
				domain.InventoryReserved{OrderID: uuid.New(), Quantity: 3},
			})...)
			var available int
			if err := db.Admin.QueryRow(context.Background(), `SELECT available FROM inventory_view WHERE shop = $1 AND key = $2`,
				shop, key).Scan(&available); err != nil || available != 7+i {
				t.Fatalf("%s: available %d (%v), want %d", key, available, err, 7+i)
			}
		})
}

// requireLocalReads lets item make the plans on a nearly empty table (ten
// items), grows the table with 20,000 unrelated rows (the statement grow,
// with the shop as $1), and fails if one more item reads more than a
// hundred rows of it.
func requireLocalReads(t *testing.T, table, grow string, item func(db testenv.Unanalyzed, i int)) {
	t.Helper()
	db := testenv.WithoutStatistics(t, table)
	for i := range 10 {
		item(db, i)
	}
	if _, err := db.Admin.Exec(context.Background(), grow, shop); err != nil {
		t.Fatal(err)
	}
	before := db.RowsRead(t)
	item(db, 10)
	if n := db.RowsRead(t) - before; n > 100 {
		t.Errorf("one more item read %d rows of %s", n, table)
	}
}

// applyEach appends events to stream and applies them to p one at a time,
// each in its own transaction on db.Conn.
func applyEach(t *testing.T, db testenv.Unanalyzed, p Projector, stream string, events ...domain.Event) {
	t.Helper()
	ctx := context.Background()
	enc, err := eventstore.Encode(shop, eventstore.Metadata{Source: "test"}, events...)
	if err != nil {
		t.Fatal(err)
	}
	res, err := eventstore.New(db.Admin).Append(ctx, stream, eventstore.NoStream, enc...)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Events {
		if got, err := ApplyOnce(ctx, db.Conn, p, e); err != nil || got != Applied {
			t.Fatalf("apply %s v%d: %v, %v", e.StreamID, e.StreamVersion, got, err)
		}
	}
}
