package domain

import "strconv"

// ShopifyProduct is the part of a products/create or products/update
// webhook body that maps Shopify's inventory items to stock keys: each
// variant names its inventory item, whose inventory_levels/update webhooks
// name nothing else.
type ShopifyProduct struct {
	ID       int64
	Variants []ShopifyVariant
}

// ShopifyVariant is one variant of a product. SKU is empty when Shopify
// sends null or "".
type ShopifyVariant struct {
	ID              int64
	SKU             string
	InventoryItemID int64
}

// DecodeShopifyProduct decodes and validates a products/* webhook body.
func DecodeShopifyProduct(body []byte) (ShopifyProduct, error) {
	var raw struct {
		ID       jsonNumber `json:"id"`
		Variants []struct {
			ID              jsonNumber `json:"id"`
			SKU             *string    `json:"sku"`
			InventoryItemID jsonNumber `json:"inventory_item_id"`
		} `json:"variants"`
	}
	if err := decodeJSON(body, &raw); err != nil {
		return ShopifyProduct{}, err
	}
	var f fieldErrors
	p := shopifyParser{f: &f}
	product := ShopifyProduct{ID: p.id("id", raw.ID)}
	if product.ID == 0 {
		f.add("id", "is required")
	}
	for i, v := range raw.Variants {
		field := "variants[" + strconv.Itoa(i) + "]"
		variant := ShopifyVariant{ID: p.id(field+".id", v.ID), InventoryItemID: p.id(field+".inventory_item_id", v.InventoryItemID)}
		if v.SKU != nil {
			variant.SKU = *v.SKU
		}
		if variant.ID == 0 {
			f.add(field+".id", "is required")
		}
		product.Variants = append(product.Variants, variant)
	}
	if err := f.err(); err != nil {
		return ShopifyProduct{}, err
	}
	return product, nil
}
