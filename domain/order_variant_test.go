package domain

import (
	"encoding/json"
	"testing"
)

// A Shopify line's variant title is carried into the order's line, and an
// order.placed stored before variant titles were kept still decodes, with
// lines that name no variant.
func TestOrderLineVariantTitle(t *testing.T) {
	s := loadShopifyOrder(t)
	s.LineItems[0].VariantTitle = "Blue / Large"
	o := &Order{}
	evs, err := o.ApplyShopifySnapshot(s, demoShop)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		o.Apply(e)
	}
	lines := o.Snapshot().Lines
	if lines[0].VariantTitle != "Blue / Large" || lines[1].VariantTitle != "" {
		t.Fatalf("variant titles: %q, %q", lines[0].VariantTitle, lines[1].VariantTitle)
	}
	placed, err := json.Marshal(evs[0])
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]any
	if err := json.Unmarshal(placed, &stored); err != nil {
		t.Fatal(err)
	}
	for _, l := range stored["lines"].([]any) {
		delete(l.(map[string]any), "variant_title")
	}
	old, _ := json.Marshal(stored)
	e, err := DecodeEvent(evs[0].EventType(), old)
	if err != nil {
		t.Fatalf("an order.placed without variant titles: %v", err)
	}
	replayed, err := NewOrderFromHistory([]Event{e})
	if err != nil {
		t.Fatal(err)
	}
	if l := replayed.Snapshot().Lines[0]; l.VariantTitle != "" || l.Title != "Blue mug" {
		t.Fatalf("old line: %+v", l)
	}

	// Shopify's newer snapshot names the variant of the old order's line.
	s.UpdatedAt = s.UpdatedAt.Add(1e9)
	evs, err = replayed.ApplyShopifySnapshot(s, demoShop)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		replayed.Apply(e)
	}
	if got := replayed.Snapshot().Lines[0].VariantTitle; got != "Blue / Large" {
		t.Fatalf("after Shopify's next snapshot the line's variant is %q", got)
	}
}
