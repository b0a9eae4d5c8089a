package domain

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// StockLevel is Shopify's available figure of an inventory item at one
// location, as stated at UpdatedAt.
type StockLevel struct {
	LocationID int64     `json:"location_id"`
	Available  int       `json:"available"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// InventoryItemMapped records which variant, and so which stock key, a
// Shopify inventory item belongs to. Shopify's stock webhooks name the
// inventory item; orders name the variant and SKU.
type InventoryItemMapped struct {
	Shop            string `json:"shop"`
	InventoryItemID int64  `json:"inventory_item_id"`
	VariantID       int64  `json:"variant_id"`
	SKU             string `json:"sku"`
	Key             string `json:"key"`
	// ProductTitle and VariantTitle are the catalog's names of the variant;
	// absent from mappings recorded before they were kept, and from those
	// an Admin API lookup made.
	ProductTitle string `json:"product_title,omitempty"`
	VariantTitle string `json:"variant_title,omitempty"`
}

// VariantNames are a variant's names in the shop's catalog: its product's
// title and its own ("" for a product without options).
type VariantNames struct {
	Product string
	Variant string
}

// InventoryItemLevelHeld records a stock level that arrived before its
// item's variant was known; it is synced to the stock key once it is.
type InventoryItemLevelHeld struct {
	Shop            string     `json:"shop"`
	InventoryItemID int64      `json:"inventory_item_id"`
	Level           StockLevel `json:"level"`
}

// EventType implements Event.
func (InventoryItemMapped) EventType() string { return "inventory_item.mapped" }

// EventType implements Event.
func (InventoryItemLevelHeld) EventType() string { return "inventory_item.level_held" }

// InventoryItemStream is the stream of one Shopify inventory item of a shop:
// "inventoryitem-<shop>:<inventory item id>".
func InventoryItemStream(shop string, inventoryItemID int64) string {
	return "inventoryitem-" + shop + ":" + strconv.FormatInt(inventoryItemID, 10)
}

// InventoryItem is one Shopify inventory item of a shop: the stock key it
// maps to and, until that is known, the newest level per location.
type InventoryItem struct {
	shop    string
	id      int64
	key     string
	variant int64
	sku     string
	names   VariantNames
	held    map[int64]StockLevel
	version int
}

// NewInventoryItem returns the unknown inventory item id of shop, ready for
// its history or its first command.
func NewInventoryItem(shop string, id int64) (*InventoryItem, error) {
	var f fieldErrors
	if !ValidShopDomain(shop) {
		f.add("shop", "must be a shop domain like demo.myshopify.com")
	}
	if id <= 0 {
		f.add("inventory_item_id", "is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return &InventoryItem{shop: shop, id: id, held: map[int64]StockLevel{}}, nil
}

// Apply changes the item by one event.
func (it *InventoryItem) Apply(e Event) {
	switch e := e.(type) {
	case InventoryItemMapped:
		it.key, it.variant, it.sku = e.Key, e.VariantID, e.SKU
		if e.ProductTitle != "" {
			it.names = VariantNames{Product: e.ProductTitle, Variant: e.VariantTitle}
		}
		clear(it.held) // synced to the key together with the mapping
	case InventoryItemLevelHeld:
		it.held[e.Level.LocationID] = e.Level
	}
	it.version++
}

// Map records the variant (and its SKU, empty when it has none) that the
// item stocks, with its catalog names when known (an empty Product keeps
// the names recorded before). The stock key follows InventoryKey, as order
// lines do. A mapping already known returns no events.
func (it *InventoryItem) Map(variantID int64, sku string, names VariantNames) ([]Event, error) {
	if variantID <= 0 {
		return nil, invalid("variant_id", "is required")
	}
	sku = strings.TrimSpace(sku)
	names.Product, names.Variant = strings.TrimSpace(names.Product), strings.TrimSpace(names.Variant)
	if names.Product == "" {
		names = it.names
	}
	key := InventoryKey(sku, variantID)
	if it.key == key && it.variant == variantID && it.sku == sku && it.names == names {
		return nil, nil
	}
	return []Event{InventoryItemMapped{Shop: it.shop, InventoryItemID: it.id, VariantID: variantID, SKU: sku, Key: key,
		ProductTitle: names.Product, VariantTitle: names.Variant}}, nil
}

// Hold keeps a level of an item whose variant is not known yet; per
// location only the newest is kept. It returns no events for a mapped item
// (its levels go to its key) or an older level.
func (it *InventoryItem) Hold(level StockLevel) ([]Event, error) {
	if level.UpdatedAt.IsZero() {
		return nil, invalid("updated_at", "is required")
	}
	if it.key != "" {
		return nil, nil
	}
	if cur, ok := it.held[level.LocationID]; ok && !level.UpdatedAt.After(cur.UpdatedAt) {
		return nil, nil
	}
	level.UpdatedAt = level.UpdatedAt.UTC()
	return []Event{InventoryItemLevelHeld{Shop: it.shop, InventoryItemID: it.id, Level: level}}, nil
}

// Key returns the stock key the item maps to; ok is false while unknown.
func (it *InventoryItem) Key() (key string, ok bool) { return it.key, it.key != "" }

// Held returns the levels kept while the item was unmapped, by location.
func (it *InventoryItem) Held() []StockLevel {
	levels := slices.Collect(maps.Values(it.held))
	slices.SortFunc(levels, func(a, b StockLevel) int { return cmp.Compare(a.LocationID, b.LocationID) })
	return levels
}

// Version returns the number of events applied.
func (it *InventoryItem) Version() int { return it.version }
