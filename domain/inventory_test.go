package domain

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
)

var (
	orderA = uuid.MustParse("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa")
	orderB = uuid.MustParse("bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb")
)

type invStep func(inv *Inventory) ([]Event, error)

func newInventory(t *testing.T, steps ...invStep) (*Inventory, []Event) {
	t.Helper()
	inv, err := NewInventory(demoShop, "MUG")
	if err != nil {
		t.Fatal(err)
	}
	var all []Event
	for i, s := range steps {
		evs, err := s(inv)
		if err != nil {
			t.Fatalf("setup step %d: %v", i, err)
		}
		for _, e := range evs {
			inv.Apply(e)
		}
		all = append(all, evs...)
	}
	return inv, all
}

func count(n int) invStep {
	return func(i *Inventory) ([]Event, error) { return i.Count(n, "stocktake") }
}
func reserve(id uuid.UUID, n int) invStep {
	return func(i *Inventory) ([]Event, error) { return i.Reserve(id, n) }
}
func release(id uuid.UUID) invStep {
	return func(i *Inventory) ([]Event, error) { return i.Release(id) }
}
func commit(id uuid.UUID, f string, n int) invStep {
	return func(i *Inventory) ([]Event, error) { return i.Commit(id, f, n) }
}
func adjust(d int) invStep {
	return func(i *Inventory) ([]Event, error) { return i.Adjust(d, "received") }
}
func synced(n int, at time.Time) invStep { return syncedAt(1, n, at) }
func syncedAt(location int64, n int, at time.Time) invStep {
	return func(i *Inventory) ([]Event, error) {
		return i.SetAvailableFromShopify(StockLevel{LocationID: location, Available: n, UpdatedAt: at})
	}
}

func TestInventoryCommands(t *testing.T) {
	type figures struct{ onHand, reserved, available, backordered, events int }
	tests := []struct {
		name      string
		setup     []invStep
		cmd       invStep
		want      figures
		wantErr   error
		wantValid bool
	}{
		{name: "count", cmd: count(5), want: figures{5, 0, 5, 0, 1}},
		{name: "reserve in stock", setup: []invStep{count(5)}, cmd: reserve(orderA, 3), want: figures{5, 3, 2, 0, 1}},
		{name: "oversell becomes backorder", setup: []invStep{count(5), reserve(orderA, 3)}, cmd: reserve(orderB, 4), want: figures{5, 7, -2, 2, 1}},
		{name: "reserve again is a no-op", setup: []invStep{count(5), reserve(orderA, 3)}, cmd: reserve(orderA, 9), want: figures{5, 3, 2, 0, 0}},
		{name: "reserve after release is a no-op", setup: []invStep{count(5), reserve(orderA, 3), release(orderA)}, cmd: reserve(orderA, 3), want: figures{5, 0, 5, 0, 0}},
		{name: "release", setup: []invStep{count(5), reserve(orderA, 3)}, cmd: release(orderA), want: figures{5, 0, 5, 0, 1}},
		{name: "release twice", setup: []invStep{count(5), reserve(orderA, 3), release(orderA)}, cmd: release(orderA), want: figures{5, 0, 5, 0, 0}},
		{name: "release unknown order", setup: []invStep{count(5)}, cmd: release(orderB), want: figures{5, 0, 5, 0, 0}},
		{name: "commit reserved", setup: []invStep{count(5), reserve(orderA, 3)}, cmd: commit(orderA, "f1", 2), want: figures{3, 1, 2, 0, 1}},
		{name: "commit same fulfilment again", setup: []invStep{count(5), reserve(orderA, 3), commit(orderA, "f1", 2)}, cmd: commit(orderA, "f1", 2), want: figures{3, 1, 2, 0, 0}},
		{name: "commit without reservation", setup: []invStep{count(5)}, cmd: commit(orderA, "f1", 2), want: figures{3, 0, 3, 0, 1}},
		{name: "release after partial commit", setup: []invStep{count(5), reserve(orderA, 3), commit(orderA, "f1", 2)}, cmd: release(orderA), want: figures{3, 0, 3, 0, 1}},
		{name: "commit more than on hand is a backorder", setup: []invStep{count(1), reserve(orderA, 3)}, cmd: commit(orderA, "f1", 2), want: figures{0, 1, -1, 2, 2}},
		{name: "commit with nothing on hand", cmd: commit(orderA, "f1", 2), want: figures{0, 0, 0, 2, 2}},
		{name: "count clears a shipped backorder", setup: []invStep{commit(orderA, "f1", 2)}, cmd: count(4), want: figures{4, 0, 4, 0, 1}},
		{name: "shopify level clears a shipped backorder", setup: []invStep{commit(orderA, "f1", 2)}, cmd: synced(3, t0), want: figures{3, 0, 3, 0, 1}},
		{name: "levels of two locations add up", setup: []invStep{syncedAt(1, 4, t0), reserve(orderA, 2)}, cmd: syncedAt(2, 6, t0), want: figures{12, 2, 10, 0, 1}},
		{name: "a location's newer level replaces only its own", setup: []invStep{syncedAt(1, 4, t0), syncedAt(2, 6, t0)}, cmd: syncedAt(1, 1, t0.Add(time.Second)), want: figures{7, 0, 7, 0, 1}},
		{name: "an older level of another location still counts", setup: []invStep{syncedAt(1, 4, t0)}, cmd: syncedAt(2, 6, t0.Add(-time.Hour)), want: figures{10, 0, 10, 0, 1}},
		{name: "adjust up", setup: []invStep{count(5), reserve(orderA, 7)}, cmd: adjust(4), want: figures{9, 7, 2, 0, 1}},
		{name: "adjust below zero", setup: []invStep{count(1)}, cmd: adjust(-2), wantValid: true},
		{name: "adjust by zero", cmd: adjust(0), wantValid: true},
		{name: "adjust without reason", cmd: func(i *Inventory) ([]Event, error) { return i.Adjust(1, " ") }, wantValid: true},
		{name: "count without reason", cmd: func(i *Inventory) ([]Event, error) { return i.Count(1, "") }, wantValid: true},
		{name: "negative count", cmd: count(-1), wantValid: true},
		{name: "negative reservation", cmd: reserve(orderA, -1), wantValid: true},
		{name: "zero reservation", cmd: reserve(orderA, 0), wantValid: true},
		{name: "negative commit", cmd: commit(orderA, "f1", -1), wantValid: true},
		{name: "reservation without order", cmd: reserve(uuid.Nil, 1), wantValid: true},
		{name: "shopify level", setup: []invStep{count(5), reserve(orderA, 2)}, cmd: synced(10, t0), want: figures{12, 2, 10, 0, 1}},
		{name: "shopify oversold level", setup: []invStep{reserve(orderA, 2)}, cmd: synced(-3, t0), want: figures{0, 2, -2, 2, 1}},
		{name: "older shopify level", setup: []invStep{synced(10, t0)}, cmd: synced(4, t0.Add(-time.Second)), want: figures{10, 0, 10, 0, 0}},
		{name: "repeated shopify level", setup: []invStep{synced(10, t0)}, cmd: synced(4, t0), want: figures{10, 0, 10, 0, 0}},
		{name: "newer shopify level", setup: []invStep{synced(10, t0)}, cmd: synced(4, t0.Add(time.Second)), want: figures{4, 0, 4, 0, 1}},
		{name: "shopify level without time", cmd: synced(4, time.Time{}), wantValid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, _ := newInventory(t, tt.setup...)
			before := inv.Snapshot()
			evs, err := tt.cmd(inv)
			if !reflect.DeepEqual(inv.Snapshot(), before) {
				t.Fatal("command mutated the inventory")
			}
			var ve *ValidationError
			switch {
			case tt.wantValid:
				if !errors.As(err, &ve) {
					t.Fatalf("err = %v, want *ValidationError", err)
				}
				return
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			for _, e := range evs {
				inv.Apply(e)
			}
			s := inv.Snapshot()
			if got := (figures{s.OnHand, s.Reserved, s.Available, s.Backordered, len(evs)}); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestInventoryReservedRecordsBackorder(t *testing.T) {
	inv, _ := newInventory(t, count(5), reserve(orderA, 3))
	evs, err := inv.Reserve(orderB, 4)
	if err != nil || evs[0].(InventoryReserved).Backordered != 2 {
		t.Fatalf("got %v, %v", evs, err)
	}
}

func TestInventoryReplayIsDeterministic(t *testing.T) {
	inv, evs := newInventory(t, count(5), reserve(orderA, 3), reserve(orderB, 4), commit(orderA, "f1", 3), release(orderB), adjust(2), synced(7, t0),
		syncedAt(2, 3, t0), commit(orderB, "f2", 20))
	replayed, err := NewInventory(demoShop, "MUG")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range roundTrip(t, evs) {
		replayed.Apply(e)
	}
	if !reflect.DeepEqual(replayed, inv) {
		t.Fatalf("replayed state differs:\n got %+v\nwant %+v", replayed, inv)
	}
	if inv.Held(orderA) != 0 || inv.Version() != len(evs) {
		t.Fatalf("held = %d, version = %d", inv.Held(orderA), inv.Version())
	}
}

func TestInventoryCommitBeyondStockRecordsBackorder(t *testing.T) {
	inv, _ := newInventory(t, count(1), reserve(orderA, 3))
	evs, err := inv.Commit(orderA, "f1", 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		InventoryBackordered{Shop: demoShop, Key: "MUG", OrderID: orderA, FulfillmentID: "f1", Quantity: 2, OnHand: 1},
		InventoryCommitted{Shop: demoShop, Key: "MUG", OrderID: orderA, FulfillmentID: "f1", Quantity: 3, Released: 3},
	}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("got %#v\nwant %#v", evs, want)
	}
}

func TestNewInventoryValidates(t *testing.T) {
	var ve *ValidationError
	if _, err := NewInventory("nope", ""); !errors.As(err, &ve) || len(ve.Fields) != 2 {
		t.Fatalf("err = %v", err)
	}
}

func TestInventoryKey(t *testing.T) {
	for _, tt := range []struct {
		sku     string
		variant int64
		want    string
	}{
		{"MUG-BLUE", 42, "MUG-BLUE"},
		{"", 4000000000000000002, "variant-4000000000000000002"},
	} {
		if got := InventoryKey(tt.sku, tt.variant); got != tt.want {
			t.Errorf("InventoryKey(%q, %d) = %q, want %q", tt.sku, tt.variant, got, tt.want)
		}
	}
}

// An edit or refund sets what an order holds to what its lines still need:
// more is reserved, less released, shipped units never held again, and the
// same figure twice changes nothing.
func TestInventoryHoldFollowsChangedLines(t *testing.T) {
	hold := func(n int) invStep { return func(i *Inventory) ([]Event, error) { return i.Hold(orderA, n) } }
	tests := []struct {
		name          string
		steps         []invStep
		wanted        int
		held, reserve int // after
		events        int
	}{
		{"a line added", []invStep{count(10), reserve(orderA, 2)}, 5, 5, 5, 1},
		{"a line removed", []invStep{count(10), reserve(orderA, 5)}, 2, 2, 2, 1},
		{"unchanged", []invStep{count(10), reserve(orderA, 2)}, 2, 2, 2, 0},
		{"after a shipment", []invStep{count(10), reserve(orderA, 3), commit(orderA, "f1", 2)}, 2, 0, 0, 1},
		{"shipped all, then refunded", []invStep{count(10), reserve(orderA, 3), commit(orderA, "f1", 3)}, 1, 0, 0, 0},
		{"before its reservation", []invStep{count(10)}, 4, 4, 4, 1},
		{"repeated", []invStep{count(10), reserve(orderA, 2), hold(6)}, 6, 6, 6, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, _ := newInventory(t, tt.steps...)
			evs, err := inv.Hold(orderA, tt.wanted)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				inv.Apply(e)
			}
			if s := inv.Snapshot(); len(evs) != tt.events || inv.Held(orderA) != tt.held || s.Reserved != tt.reserve {
				t.Fatalf("%d events %v, held %d, reserved %d; want %d, %d, %d", len(evs), evs, inv.Held(orderA), s.Reserved,
					tt.events, tt.held, tt.reserve)
			}
		})
	}
	inv, _ := newInventory(t, count(1))
	if evs, _ := inv.Hold(orderA, 3); evs[0].(InventoryReserved).Backordered != 2 {
		t.Fatalf("holding 3 of 1 on hand: %v, want 2 backordered", evs)
	}
	if _, err := inv.Hold(orderA, -1); err == nil {
		t.Fatal("a negative quantity was accepted")
	}
}
