package projections

import (
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

func TestInventoryProjection(t *testing.T) {
	orderA, orderB := uuid.New(), uuid.New()
	type figures struct{ onHand, reserved, available, backordered int }
	cases := []struct {
		key       string
		events    []domain.Event
		want      figures
		shortfall int
		levels    map[int64]int
	}{
		{"in-stock", []domain.Event{
			domain.InventoryCounted{OnHand: 10, Reason: "initial count"},
			domain.InventoryReserved{OrderID: orderA, Quantity: 3},
		}, figures{10, 3, 7, 0}, 0, nil},
		{"oversold", []domain.Event{
			domain.InventoryCounted{OnHand: 2, Reason: "initial count"},
			domain.InventoryReserved{OrderID: orderA, Quantity: 5, Backordered: 3},
		}, figures{2, 5, -3, 3}, 0, nil},
		{"released-on-cancel", []domain.Event{
			domain.InventoryCounted{OnHand: 10, Reason: "initial count"},
			domain.InventoryReserved{OrderID: orderA, Quantity: 3},
			domain.InventoryReserved{OrderID: orderB, Quantity: 1},
			domain.InventoryReleased{OrderID: orderA, Quantity: 3},
		}, figures{10, 1, 9, 0}, 0, nil},
		{"shipped-in-two-parts", []domain.Event{
			domain.InventoryAdjusted{Delta: 10, Reason: "received"},
			domain.InventoryReserved{OrderID: orderA, Quantity: 4},
			domain.InventoryCommitted{OrderID: orderA, FulfillmentID: "f1", Quantity: 1, Released: 1},
			domain.InventoryCommitted{OrderID: orderA, FulfillmentID: "f2", Quantity: 3, Released: 3},
		}, figures{6, 0, 6, 0}, 0, nil},
		{"backorder-filled", []domain.Event{
			domain.InventoryCounted{OnHand: 2, Reason: "initial count"},
			domain.InventoryReserved{OrderID: orderA, Quantity: 5, Backordered: 3},
			domain.InventoryAdjusted{Delta: 5, Reason: "received"},
			domain.InventoryCommitted{OrderID: orderA, FulfillmentID: "f1", Quantity: 5, Released: 5},
		}, figures{2, 0, 2, 0}, 0, nil},
		{"damaged", []domain.Event{
			domain.InventoryAdjusted{Delta: 5, Reason: "received"},
			domain.InventoryAdjusted{Delta: -2, Reason: "damaged"},
		}, figures{3, 0, 3, 0}, 0, nil},
		{"recounted", []domain.Event{
			domain.InventoryAdjusted{Delta: 5, Reason: "received"},
			domain.InventoryReserved{OrderID: orderA, Quantity: 2},
			domain.InventoryCounted{OnHand: 8, Reason: "cycle count"},
		}, figures{8, 2, 6, 0}, 0, nil},
		{"synced-from-shopify", []domain.Event{
			domain.InventoryReserved{OrderID: orderA, Quantity: 2, Backordered: 2},
			domain.InventoryLevelSynced{Available: 5, UpdatedAt: t0},
		}, figures{7, 2, 5, 0}, 0, map[int64]int{0: 5}},
		{"shopify-oversold", []domain.Event{
			domain.InventoryReserved{OrderID: orderA, Quantity: 2, Backordered: 2},
			domain.InventoryLevelSynced{Available: 5, UpdatedAt: t0},
			domain.InventoryLevelSynced{Available: -3, UpdatedAt: cut},
		}, figures{0, 2, -2, 2}, 0, map[int64]int{0: -3}},
		{"two-locations", []domain.Event{
			domain.InventoryLevelSynced{LocationID: 65094860801, Available: 5, UpdatedAt: t0},
			domain.InventoryReserved{OrderID: orderA, Quantity: 2},
			domain.InventoryLevelSynced{LocationID: 65094860802, Available: 1, UpdatedAt: t0},
		}, figures{8, 2, 6, 0}, 0, map[int64]int{65094860801: 5, 65094860802: 1}},
		{"shipped-beyond-stock", []domain.Event{
			domain.InventoryCounted{OnHand: 1, Reason: "initial count"},
			domain.InventoryReserved{OrderID: orderA, Quantity: 3, Backordered: 2},
			domain.InventoryBackordered{OrderID: orderA, FulfillmentID: "f1", Quantity: 2, OnHand: 1},
			domain.InventoryCommitted{OrderID: orderA, FulfillmentID: "f1", Quantity: 3, Released: 3},
		}, figures{0, 0, 0, 2}, 2, nil},
	}
	f := newFixture(t)
	p := NewInventory()
	var all []eventstore.Event
	for _, c := range cases {
		events := f.appendEvents(t, domain.InventoryStream(shop, c.key), withItem(c.key, c.events)...)
		for _, e := range events {
			f.applyOnce(t, p, e, Applied)
		}
		all = append(all, events...)
		last := events[len(events)-1]
		want := inventoryViewRow{
			Shop: shop, Key: c.key, OnHand: c.want.onHand, Reserved: c.want.reserved, Available: c.want.available,
			Backordered: c.want.backordered, Version: last.StreamVersion, UpdatedAt: last.RecordedAt,
			Shortfall: c.shortfall, ShopifyLevels: c.levels,
		}
		if want.ShopifyLevels == nil {
			want.ShopifyLevels = map[int64]int{}
		}
		got, ok := row[inventoryViewRow](t, f, `SELECT to_jsonb(i) FROM inventory_view i WHERE shop = $1 AND key = $2`, shop, c.key)
		got.UpdatedAt = got.UpdatedAt.UTC()
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.key, got, want)
		}
	}

	live := f.dump(t, p)
	for _, e := range all {
		f.applyOnce(t, p, e, Skipped)
	}
	f.requireDump(t, p, live, "redelivering every event")

	// A stream's third event, early: nothing changes until the second is in.
	events := f.appendEvents(t, domain.InventoryStream(shop, "late"), withItem("late", []domain.Event{
		domain.InventoryAdjusted{Delta: 4, Reason: "received"},
		domain.InventoryReserved{OrderID: orderA, Quantity: 1},
		domain.InventoryReleased{OrderID: orderA, Quantity: 1},
	})...)
	f.applyOnce(t, p, events[0], Applied)
	// v3 ahead of v2: v2 comes from the event store, and its own late message is a no-op.
	f.applyOnce(t, p, events[2], Applied)
	live = f.dump(t, p)
	f.applyOnce(t, p, events[1], Skipped)
	f.requireDump(t, p, live, "the late predecessor")

	for _, batch := range []int{2, 5000} {
		if _, err := rebuild(f.ctx, f.store, p, batch, nil); err != nil {
			t.Fatalf("rebuild in batches of %d: %v", batch, err)
		}
		f.requireDump(t, p, live, "rebuilding")
	}
}

// withItem sets the shop and key that every inventory event carries.
func withItem(key string, events []domain.Event) []domain.Event {
	out := make([]domain.Event, len(events))
	for i, e := range events {
		switch e := e.(type) {
		case domain.InventoryReserved:
			e.Shop, e.Key = shop, key
			out[i] = e
		case domain.InventoryReleased:
			e.Shop, e.Key = shop, key
			out[i] = e
		case domain.InventoryCommitted:
			e.Shop, e.Key = shop, key
			out[i] = e
		case domain.InventoryAdjusted:
			e.Shop, e.Key = shop, key
			out[i] = e
		case domain.InventoryCounted:
			e.Shop, e.Key = shop, key
			out[i] = e
		case domain.InventoryLevelSynced:
			e.Shop, e.Key = shop, key
			out[i] = e
		case domain.InventoryBackordered:
			e.Shop, e.Key = shop, key
			out[i] = e
		}
	}
	return out
}
