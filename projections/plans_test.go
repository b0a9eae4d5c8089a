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
		func(f *fixture, _ int) {
			// v2 applied on its own, after v1: the projector reads v1 from the store.
			id := uuid.New()
			for _, e := range f.appendEvents(t, domain.OrderStream(id), placed(id), paid) {
				f.applyOnce(t, p, e, Applied)
			}
			if o, _ := orderRowOf(t, f, id); o.Status != "paid" || o.Version != 2 {
				t.Fatalf("order %s: status %s v%d, want paid v2", id, o.Status, o.Version)
			}
		})
}

func TestInventoryReadsOnlyItsRows(t *testing.T) {
	p := NewInventory()
	requireLocalReads(t, "inventory_view", `INSERT INTO inventory_view
		(shop, key, on_hand, reserved, available, backordered, version, updated_at)
		SELECT $1, 'other-' || g, 1, 0, 1, 0, 1, now() FROM generate_series(1, 20000) g`,
		func(f *fixture, i int) {
			// The reservation, applied on its own, continues the count's row.
			key := "sku-" + uuid.NewString()
			for _, e := range f.appendEvents(t, domain.InventoryStream(shop, key), withItem(key, []domain.Event{
				domain.InventoryCounted{OnHand: 10 + i, Reason: "initial count"},
				domain.InventoryReserved{OrderID: uuid.New(), Quantity: 3},
			})...) {
				f.applyOnce(t, p, e, Applied)
			}
			var available int
			if err := f.pool.QueryRow(f.ctx, `SELECT available FROM inventory_view WHERE shop = $1 AND key = $2`,
				shop, key).Scan(&available); err != nil || available != 7+i {
				t.Fatalf("%s: available %d (%v), want %d", key, available, err, 7+i)
			}
		})
}

// requireLocalReads lets item make the plans on a nearly empty table (ten
// items), grows the table with 20,000 unrelated rows (the statement grow,
// with the shop as $1), and fails if one more item reads more than a
// hundred rows of it. The fixture handed to item applies events on one
// connection, so the plans that connection keeps are the ones measured.
func requireLocalReads(t *testing.T, table, grow string, item func(f *fixture, i int)) {
	t.Helper()
	db := testenv.WithoutStatistics(t, table)
	f := &fixture{ctx: context.Background(), pool: db.Conn, store: eventstore.New(db.Admin)}
	for i := range 10 {
		item(f, i)
	}
	if _, err := db.Admin.Exec(f.ctx, grow, shop); err != nil {
		t.Fatal(err)
	}
	before := db.RowsRead(t)
	item(f, 10)
	if n := db.RowsRead(t) - before; n > 100 {
		t.Errorf("one more item read %d rows of %s", n, table)
	}
}
