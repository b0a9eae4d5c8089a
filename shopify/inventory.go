package shopify

import (
	"time"
)

// InventoryLevel is an inventory_levels/update webhook body. Tracked is
// false when Shopify sends available: null (the item's stock is not tracked).
type InventoryLevel struct {
	InventoryItemID int64
	LocationID      int64
	Available       int
	Tracked         bool
	UpdatedAt       time.Time
}

// DecodeInventoryLevel decodes and validates an inventory_levels/update body.
func DecodeInventoryLevel(body []byte) (InventoryLevel, error) {
	var raw struct {
		InventoryItemID jsonNumber `json:"inventory_item_id"`
		LocationID      jsonNumber `json:"location_id"`
		Available       jsonNumber `json:"available"`
		UpdatedAt       string     `json:"updated_at"`
	}
	if err := decodeJSON(body, &raw); err != nil {
		return InventoryLevel{}, err
	}
	var f fieldErrors
	p := parser{f: &f}
	l := InventoryLevel{
		InventoryItemID: p.id("inventory_item_id", raw.InventoryItemID),
		LocationID:      p.id("location_id", raw.LocationID),
		UpdatedAt:       p.time("updated_at", raw.UpdatedAt),
	}
	if raw.Available != "" {
		l.Available, l.Tracked = p.quantity("available", raw.Available), true
	}
	if l.InventoryItemID == 0 {
		f.add("inventory_item_id", "is required")
	}
	if l.LocationID == 0 {
		f.add("location_id", "is required")
	}
	if l.UpdatedAt.IsZero() {
		f.add("updated_at", "is required")
	}
	if err := f.err(); err != nil {
		return InventoryLevel{}, err
	}
	return l, nil
}
