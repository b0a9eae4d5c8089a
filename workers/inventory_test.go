package workers_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv/webhooktest"
	"github.com/ordermill/ordermill/workers"
)

func stock(t *testing.T, s *stack, key string) (domain.InventoryState, []eventstore.Event) {
	t.Helper()
	inv, err := domain.NewInventory(testShop, key)
	if err != nil {
		t.Fatal(err)
	}
	history, err := s.store.ReadStream(s.ctx, domain.InventoryStream(testShop, key), 1)
	if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatal(err)
	}
	events, err := eventstore.Decode(history)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		inv.Apply(e)
	}
	return inv.Snapshot(), history
}

// orderCommand appends what cmd decides on the order's current state.
func orderCommand(t *testing.T, s *stack, stream string, cmd func(*domain.Order) ([]domain.Event, error)) eventstore.Event {
	t.Helper()
	o, version := webhooktest.StoredOrder(t, s.store, stream)
	out, err := cmd(o)
	if err != nil {
		t.Fatal(err)
	}
	return s.append(t, stream, testShop, eventstore.Exact(int64(version)), out...)[0]
}

func TestInventoryFollowsOrders(t *testing.T) {
	s := newStack(t)
	manager := workers.NewInventoryManager(s.store)
	for key, onHand := range map[string]int{"A": 10, "B": 1} {
		s.append(t, domain.InventoryStream(testShop, key), testShop, eventstore.NoStream,
			domain.InventoryCounted{Shop: testShop, Key: key, OnHand: onHand, Reason: "stocktake"})
	}
	s.runWorkers(t, manager.Handler())

	now := time.Now()
	shipped := placeOrder(t, s, "#1", "", now,
		domain.PlacedLine{ID: "1", SKU: "A", Title: "Apple", Quantity: 2, UnitPrice: 100},
		domain.PlacedLine{ID: "2", SKU: "B", Title: "Banana", Quantity: 3, UnitPrice: 100},
		domain.PlacedLine{ID: "3", SKU: "A", Title: "Apple, gift wrapped", Quantity: 1, UnitPrice: 150},
		domain.PlacedLine{ID: "4", Title: "Engraving", Quantity: 1, UnitPrice: 500}) // neither SKU nor variant: not stocked
	cancelled := placeOrder(t, s, "#2", "", now, domain.PlacedLine{ID: "1", SKU: "A", Title: "Apple", Quantity: 4, UnitPrice: 100})

	waitFor(t, "both orders' reservations", func() bool {
		a, _ := stock(t, s, "A")
		b, _ := stock(t, s, "B")
		return a.Reserved == 7 && b.Reserved == 3
	})
	if b, _ := stock(t, s, "B"); b.Backordered != 2 || b.Available != -2 {
		t.Fatalf("B after reserving 3 of 1: %+v", b)
	}
	if _, history := stock(t, s, "variant-0"); len(history) != 0 {
		t.Fatalf("an unstocked line reserved stock: %v", eventTypes(history))
	}

	cancel := orderCommand(t, s, cancelled.StreamID, func(o *domain.Order) ([]domain.Event, error) { return o.Cancel("customer", now) })
	waitFor(t, "the cancelled order's release", func() bool {
		a, _ := stock(t, s, "A")
		return a.Reserved == 3
	})

	fulfil := orderCommand(t, s, shipped.StreamID, func(o *domain.Order) ([]domain.Event, error) {
		return o.Fulfill("f-1", []domain.LineQuantity{{LineID: "1", Quantity: 2}, {LineID: "3", Quantity: 1}}, now, domain.Tracking{})
	})
	waitFor(t, "the shipment's commit", func() bool {
		a, _ := stock(t, s, "A")
		return a.OnHand == 7
	})
	a, history := stock(t, s, "A")
	if a.Reserved != 0 || a.Available != 7 {
		t.Fatalf("A after shipping: %+v", a)
	}
	wantCause := []struct {
		typ    string
		source eventstore.Event
	}{
		{"inventory.counted", eventstore.Event{}},
		{"inventory.reserved", shipped}, {"inventory.reserved", cancelled}, // in either order
		{"inventory.released", cancel},
		{"inventory.committed", fulfil},
	}
	if len(history) != len(wantCause) {
		t.Fatalf("A's events: %v", eventTypes(history))
	}
	causes := map[string]bool{}
	for _, e := range history[1:] {
		causes[e.Type+"/"+e.Metadata.CausationID] = true
	}
	for _, w := range wantCause[1:] {
		if !causes[w.typ+"/"+w.source.ID.String()] {
			t.Errorf("no %s caused by %s %s; have %v", w.typ, w.source.Type, w.source.ID, causes)
		}
	}

	// Redelivered order events change nothing, in one batch as one by one.
	redeliver := func(events ...eventstore.Event) {
		t.Helper()
		for i, err := range manager.Handler().HandleBatch(context.Background(), events) {
			if err != nil {
				t.Fatalf("redeliver %s: %v", events[i].Type, err)
			}
		}
	}
	redeliver(shipped, cancelled, cancel, fulfil)
	for _, e := range []eventstore.Event{shipped, cancelled, cancel, fulfil} {
		redeliver(e)
	}
	if _, again := stock(t, s, "A"); len(again) != len(history) {
		t.Fatalf("redelivery added %v", eventTypes(again[len(history):]))
	}

	// Shipping more than is on hand is a backorder, on the stock item and on
	// the order's timeline; never a dead letter.
	overship := orderCommand(t, s, shipped.StreamID, func(o *domain.Order) ([]domain.Event, error) {
		return o.Fulfill("f-2", []domain.LineQuantity{{LineID: "2", Quantity: 3}}, now, domain.Tracking{})
	})
	var timeline []eventstore.Event
	waitFor(t, "the over-shipment's backorder on the order", func() bool {
		timeline, _ = s.store.ReadStream(s.ctx, shipped.StreamID, 1)
		return timeline[len(timeline)-1].Type == "order.backordered"
	})
	if b, _ := stock(t, s, "B"); b.OnHand != 0 || b.Reserved != 0 || b.Backordered != 2 || b.Shortfall != 2 {
		t.Fatalf("B after shipping 3 of 1: %+v", b)
	}
	got, err := eventstore.DecodeEvent("order.backordered", timeline[len(timeline)-1].Data)
	if want := (domain.OrderBackordered{Key: "B", FulfillmentID: "f-2", Quantity: 2, OnHand: 1}); err != nil || got != want {
		t.Fatalf("order.backordered = %+v, %v; want %+v", got, err, want)
	}
	// A dead letter of the over-shipment left by a version that refused it
	// is re-queued; handling it again changes nothing.
	redeliver(overship)
	if again, _ := s.store.ReadStream(s.ctx, shipped.StreamID, 1); len(again) != len(timeline) {
		t.Fatalf("handling again added %v", eventTypes(again[len(timeline):]))
	}
	dls := bus.NewDeadLetters(s.store, s.pub, s.prefix)
	if open, err := dls.List(s.ctx, testShop, false, 0, 10); err != nil || len(open) != 0 {
		t.Fatalf("dead letters: %+v, %v", open, err)
	}
}
