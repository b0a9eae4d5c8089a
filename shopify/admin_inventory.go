package shopify

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
)

// inventoryItemVariantQuery asks which variant an inventory item stocks.
var inventoryItemVariantQuery = document("inventory_item_variant")

// InventoryItemVariant returns the variant an inventory item stocks and
// the variant's SKU ("" when it has none). found is false when the shop has
// no such item.
func (c *AdminClient) InventoryItemVariant(ctx context.Context, shop, token string, itemID int64) (variantID int64, sku string, found bool, err error) {
	var data struct {
		InventoryItem *struct {
			Variants *struct {
				Nodes []struct {
					ID  string  `json:"id"`
					SKU *string `json:"sku"`
				} `json:"nodes"`
			} `json:"variants"`
		} `json:"inventoryItem"`
	}
	vars := map[string]any{"id": "gid://shopify/InventoryItem/" + strconv.FormatInt(itemID, 10)}
	if err := c.query(ctx, shop, token, "InventoryItemVariant", inventoryItemVariantQuery, vars, &data); err != nil {
		return 0, "", false, err
	}
	if data.InventoryItem == nil || data.InventoryItem.Variants == nil || len(data.InventoryItem.Variants.Nodes) == 0 {
		return 0, "", false, nil
	}
	v := data.InventoryItem.Variants.Nodes[0]
	if variantID, found = legacyID(v.ID, "ProductVariant"); !found {
		return 0, "", false, &AdminError{Shop: shop, Status: http.StatusOK, kind: ErrAdminBadResponse,
			Message: fmt.Sprintf("variant id %q of inventory item %d", v.ID, itemID)}
	}
	if v.SKU != nil {
		sku = *v.SKU
	}
	return variantID, sku, true, nil
}
