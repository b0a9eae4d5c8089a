package workers_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/projections"
	"github.com/ordermill/ordermill/shopify"
	"github.com/ordermill/ordermill/workers"
)

// placeFromShopify places the order from its first snapshot, as the webhook
// processor does for orders/create, leaving out the snapshot's fulfillments
// so that only the Admin API can supply them.
func placeFromShopify(t *testing.T, s *stack, shop string, snap domain.ShopifyOrder) (string, eventstore.Event) {
	t.Helper()
	snap.Fulfillments = nil
	snap.FulfillmentStatus = ""
	var o domain.Order
	events, err := o.ApplyShopifySnapshot(snap, shop)
	if err != nil {
		t.Fatalf("place %d: %v", snap.ID, err)
	}
	stream := domain.OrderStream(domain.ShopifyOrderID(shop, snap.ID))
	stored := s.append(t, stream, shop, eventstore.NoStream, events...)
	return stream, stored[0]
}

func successful(o domain.ShopifyOrder) []domain.ShopifyFulfillment {
	return slices.DeleteFunc(slices.Clone(o.Fulfillments), func(f domain.ShopifyFulfillment) bool { return f.Status != "success" })
}

func TestFulfillmentSyncRecordsShopifyFulfillmentsOnce(t *testing.T) {
	s := newStack(t)
	sim := startSimulator(t)
	call(t, "POST", sim+"/_sim/shops", map[string]string{"shop": testShop, "access_token": testToken}, nil)
	orders := shopifyOrders(t, sim, testShop, 6)
	latest := testenv.FulfilledOrder(t, orders)
	want := successful(latest)

	sync := workers.NewFulfillmentSync(s.store, shopify.NewAdminClient(shopify.AdminConfig{BaseURL: sim}),
		tokens{testShop: testToken}, nil)
	s.runWorkers(t, sync.Handler())
	s.runProjectors(t, projections.NewFulfillments())
	stream, placed := placeFromShopify(t, s, testShop, orders[latest.ID][0])

	waitFor(t, "fulfillments_view", func() bool {
		return s.count(t, `SELECT count(*) FROM fulfillments_view WHERE order_id = $1`, domain.ShopifyOrderID(testShop, latest.ID)) == len(want)
	})
	history, err := s.store.ReadStream(s.ctx, stream, 1)
	if err != nil {
		t.Fatal(err)
	}
	var fulfilled []eventstore.Event
	causes := map[string]bool{} // placing a Shopify order appends order.placed and its snapshot's facts
	for _, e := range history {
		switch e.Type {
		case "order.fulfilled":
			fulfilled = append(fulfilled, e)
		case "order.placed", "order.snapshot_applied":
			causes[e.ID.String()] = true
		}
	}
	if len(fulfilled) != len(want) {
		t.Fatalf("%d order.fulfilled events, want %d", len(fulfilled), len(want))
	}
	for i, e := range fulfilled {
		var f domain.OrderFulfilled
		if err := json.Unmarshal(e.Data, &f); err != nil {
			t.Fatal(err)
		}
		if f.FulfillmentID != strconv.FormatInt(want[i].ID, 10) || !f.FulfilledAt.Equal(want[i].CreatedAt) {
			t.Errorf("fulfillment %d: %+v, want %+v", i, f, want[i])
		}
		if !causes[e.Metadata.CausationID] || e.Metadata.Actor != "worker:"+workers.FulfillmentSyncHandlerName || e.Tenant != testShop {
			t.Errorf("fulfillment %d metadata %+v tenant %s", i, e.Metadata, e.Tenant)
		}
	}
	var row struct {
		Shop, Status string
		Lines        []domain.LineQuantity
		CreatedAt    time.Time
	}
	err = s.pool.QueryRow(s.ctx, `SELECT shop, status, lines, created_at FROM fulfillments_view
		WHERE order_id = $1 AND fulfillment_id = $2`, domain.ShopifyOrderID(testShop, latest.ID), strconv.FormatInt(want[0].ID, 10)).
		Scan(&row.Shop, &row.Status, &row.Lines, &row.CreatedAt)
	if err != nil || row.Shop != testShop || row.Status != "success" || !row.CreatedAt.Equal(want[0].CreatedAt) || len(row.Lines) != len(want[0].LineItems) {
		t.Fatalf("fulfillments_view row %+v, %v", row, err)
	}

	// A redelivered order.placed asks Shopify again and records nothing new.
	calls := len(adminCalls(t, sim))
	for range 2 {
		if err := sync.Handler().Handle(context.Background(), placed); err != nil {
			t.Fatalf("redelivery: %v", err)
		}
	}
	again, _ := s.store.ReadStream(s.ctx, stream, 1)
	if len(again) != len(history) {
		t.Fatalf("redelivery appended %d events", len(again)-len(history))
	}
	if n := len(adminCalls(t, sim)); n != calls+2 {
		t.Fatalf("redeliveries made %d Admin API calls, want 2", n-calls)
	}
}

func TestFulfillmentSyncIgnoresOrdersNotFromShopify(t *testing.T) {
	s := newStack(t)
	sim := startSimulator(t)
	sync := workers.NewFulfillmentSync(s.store, shopify.NewAdminClient(shopify.AdminConfig{BaseURL: sim}), tokens{}, nil)
	id := domain.ShopifyOrderID(testShop, 1) // any id; the order is placed through the API
	events, err := domain.PlaceOrder(domain.PlaceOrderCommand{
		OrderID: id, Shop: testShop, Name: "#A1", Source: domain.SourceAPI, Currency: "USD",
		Lines:    []domain.PlacedLine{{ID: "1", SKU: "MUG", Title: "Mug", Quantity: 1, UnitPrice: 500}},
		Subtotal: 500, Total: 500, PlacedAt: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	placed := s.append(t, domain.OrderStream(id), testShop, eventstore.NoStream, events...)
	if err := sync.Handler().Handle(s.ctx, placed[0]); err != nil {
		t.Fatalf("handle: %v", err)
	}
	if calls := adminCalls(t, sim); len(calls) != 0 {
		t.Fatalf("an API order made Admin API calls: %+v", calls)
	}
}
