package domain

import (
	"testing"
	"time"
)

// A deletion that arrived before its order is held once, and the order's
// first snapshot places it deleted, at the deletion's time.
func TestHeldDeletionPlacesTheOrderDeleted(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var h HeldDeletion
	if _, ok := h.DeletedAt(); ok {
		t.Fatal("an empty stream holds a deletion")
	}
	if _, err := h.Hold(time.Time{}); err == nil {
		t.Fatal("a deletion without a time was held")
	}
	held, err := h.Hold(at)
	if err != nil || len(held) != 1 {
		t.Fatalf("hold: %v, %v", held, err)
	}
	h.Apply(held[0])
	if again, err := h.Hold(at.Add(time.Hour)); err != nil || len(again) != 0 {
		t.Fatalf("a second deletion: %v, %v; want nothing", again, err)
	}
	if got, ok := h.DeletedAt(); !ok || !got.Equal(at) {
		t.Fatalf("held deletion at %v (%v), want %v", got, ok, at)
	}

	placing, err := (&Order{}).ApplyShopifySnapshot(loadShopifyOrder(t), demoShop)
	if err != nil {
		t.Fatal(err)
	}
	events, err := PlaceDeleted(placing, at)
	if err != nil {
		t.Fatal(err)
	}
	o, err := NewOrderFromHistory(events)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Snapshot().Deleted || len(events) != len(placing)+1 {
		t.Fatalf("order deleted %v after %d events, want deleted after %d", o.Snapshot().Deleted, len(events), len(placing)+1)
	}
	if d, ok := events[len(events)-1].(OrderDeleted); !ok || !d.DeletedAt.Equal(at) {
		t.Fatalf("last event %#v, want order.deleted at %v", events[len(events)-1], at)
	}
	if _, err := PlaceDeleted(nil, at); err == nil {
		t.Fatal("a deletion was placed without an order")
	}
}
