package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// InventoryItems maintains inventory_items_view: the stock key of each
// Shopify inventory item and the catalog's names of its variant.
type InventoryItems struct{}

// NewInventoryItems returns the inventory items projector.
func NewInventoryItems() *InventoryItems { return &InventoryItems{} }

// Name implements Projector.
func (*InventoryItems) Name() string { return "inventory_items" }

// Categories implements Projector.
func (*InventoryItems) Categories() []string { return []string{"inventoryitem"} }

// Tables implements Projector.
func (*InventoryItems) Tables() []string { return []string{"inventory_items_view"} }

// PersonalData implements Projector: a catalog holds no personal data.
func (*InventoryItems) PersonalData() []PersonalData { return nil }

// Apply implements Projector. Each inventory_item.mapped states the whole
// row, so the highest stream version wins whatever the delivery order.
func (*InventoryItems) Apply(ctx context.Context, tx pgx.Tx, e eventstore.Event) error {
	if e.Type != (domain.InventoryItemMapped{}).EventType() {
		return nil
	}
	d, err := eventstore.DecodeEvent(e.Type, e.Data)
	if err != nil {
		return err
	}
	m := d.(domain.InventoryItemMapped)
	_, err = tx.Exec(ctx, `INSERT INTO inventory_items_view (shop, inventory_item_id, key, product_title, variant_title, version)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (shop, inventory_item_id) DO UPDATE SET key = EXCLUDED.key, product_title = EXCLUDED.product_title,
			variant_title = EXCLUDED.variant_title, version = EXCLUDED.version
		WHERE inventory_items_view.version < EXCLUDED.version`,
		m.Shop, m.InventoryItemID, m.Key, m.ProductTitle, m.VariantTitle, e.StreamVersion)
	return err
}
