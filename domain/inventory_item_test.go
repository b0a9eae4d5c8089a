package domain

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func newItem(t *testing.T, history ...Event) *InventoryItem {
	t.Helper()
	it, err := NewInventoryItem(demoShop, 46120394000101)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range roundTrip(t, history) {
		it.Apply(e)
	}
	return it
}

func TestInventoryItemMapsToTheKeyOrderLinesUse(t *testing.T) {
	for _, tt := range []struct {
		name    string
		sku     string
		wantKey string
	}{
		{"with a SKU", " MUG-350 ", "MUG-350"},
		{"sku null", "", "variant-44020394000103"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			it := newItem(t)
			evs, err := it.Map(44020394000103, tt.sku, VariantNames{})
			if err != nil || len(evs) != 1 {
				t.Fatalf("Map = %v, %v", evs, err)
			}
			it.Apply(evs[0])
			key, ok := it.Key()
			line := Line{SKU: tt.wantKey, VariantID: 44020394000103}
			if tt.sku == "" {
				line.SKU = ""
			}
			lineKey, _ := line.InventoryKey()
			if !ok || key != tt.wantKey || key != lineKey {
				t.Fatalf("key = %q, %v; want %q, the order line's %q", key, ok, tt.wantKey, lineKey)
			}
			if again, err := it.Map(44020394000103, tt.sku, VariantNames{}); err != nil || len(again) != 0 {
				t.Fatalf("mapping again = %v, %v; want no events", again, err)
			}
		})
	}
}

func TestInventoryItemHoldsNewestLevelPerLocationUntilMapped(t *testing.T) {
	level := func(loc int64, n int, at time.Time) StockLevel {
		return StockLevel{LocationID: loc, Available: n, UpdatedAt: at}
	}
	it := newItem(t,
		InventoryItemLevelHeld{Shop: demoShop, InventoryItemID: 46120394000101, Level: level(2, 6, t0)},
		InventoryItemLevelHeld{Shop: demoShop, InventoryItemID: 46120394000101, Level: level(1, 4, t0)},
	)
	if evs, err := it.Hold(level(1, 9, t0.Add(-time.Minute))); err != nil || len(evs) != 0 {
		t.Fatalf("older level: %v, %v; want no events", evs, err)
	}
	evs, err := it.Hold(level(1, 3, t0.Add(time.Minute)))
	if err != nil || len(evs) != 1 {
		t.Fatalf("newer level: %v, %v", evs, err)
	}
	it.Apply(evs[0])
	if got, want := it.Held(), []StockLevel{level(1, 3, t0.Add(time.Minute)), level(2, 6, t0)}; !reflect.DeepEqual(got, want) {
		t.Fatalf("held = %+v, want %+v", got, want)
	}
	mapped, _ := it.Map(44020394000101, "BEAN-CHR", VariantNames{})
	it.Apply(mapped[0])
	if len(it.Held()) != 0 {
		t.Fatalf("held after mapping = %+v", it.Held())
	}
	if evs, err := it.Hold(level(1, 1, t0.Add(time.Hour))); err != nil || len(evs) != 0 {
		t.Fatalf("level of a mapped item held: %v, %v", evs, err)
	}
}

func TestInventoryItemValidates(t *testing.T) {
	var ve *ValidationError
	if _, err := NewInventoryItem("nope", 0); !errors.As(err, &ve) || len(ve.Fields) != 2 {
		t.Fatalf("NewInventoryItem err = %v", err)
	}
	it := newItem(t)
	if _, err := it.Map(0, "X", VariantNames{}); !errors.As(err, &ve) {
		t.Fatalf("Map without variant err = %v", err)
	}
	if _, err := it.Hold(StockLevel{LocationID: 1}); !errors.As(err, &ve) {
		t.Fatalf("Hold without time err = %v", err)
	}
}

// A products webhook names the variant; a rename records the new names, and
// a mapping that names nothing (an Admin lookup) keeps them.
func TestInventoryItemKeepsItsCatalogNames(t *testing.T) {
	it := newItem(t)
	apply := func(evs []Event, err error) int {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range roundTrip(t, evs) {
			it.Apply(e)
		}
		return len(evs)
	}
	if n := apply(it.Map(44020394000101, "BEAN-CHR", VariantNames{Product: "Merino Beanie", Variant: "Charcoal"})); n != 1 ||
		it.names != (VariantNames{Product: "Merino Beanie", Variant: "Charcoal"}) {
		t.Fatalf("first mapping: %d events, names %+v", n, it.names)
	}
	if n := apply(it.Map(44020394000101, "BEAN-CHR", VariantNames{})); n != 0 {
		t.Fatalf("a mapping without names: %d events", n)
	}
	if n := apply(it.Map(44020394000101, "BEAN-CHR", VariantNames{Product: "Merino Wool Beanie", Variant: "Charcoal"})); n != 1 ||
		it.names.Product != "Merino Wool Beanie" {
		t.Fatalf("a rename: %d events, names %+v", n, it.names)
	}
}
