package shopify

import "strconv"

// Product is the part of a products/create or products/update webhook body
// that maps Shopify's inventory items to stock keys: each variant names its
// inventory item, whose inventory_levels/update webhooks name nothing else.
type Product struct {
	ID       int64
	Variants []Variant
}

// Variant is one variant of a product. SKU is empty when Shopify sends null
// or "".
type Variant struct {
	ID              int64
	SKU             string
	InventoryItemID int64
}

// DecodeProduct decodes and validates a products/* webhook body.
func DecodeProduct(body []byte) (Product, error) {
	var raw struct {
		ID       jsonNumber `json:"id"`
		Variants []struct {
			ID              jsonNumber `json:"id"`
			SKU             *string    `json:"sku"`
			InventoryItemID jsonNumber `json:"inventory_item_id"`
		} `json:"variants"`
	}
	if err := decodeJSON(body, &raw); err != nil {
		return Product{}, err
	}
	var f fieldErrors
	p := parser{f: &f}
	product := Product{ID: p.id("id", raw.ID)}
	if product.ID == 0 {
		f.add("id", "is required")
	}
	for i, v := range raw.Variants {
		field := "variants[" + strconv.Itoa(i) + "]"
		variant := Variant{ID: p.id(field+".id", v.ID), InventoryItemID: p.id(field+".inventory_item_id", v.InventoryItemID)}
		if v.SKU != nil {
			variant.SKU = *v.SKU
		}
		if variant.ID == 0 {
			f.add(field+".id", "is required")
		}
		product.Variants = append(product.Variants, variant)
	}
	if err := f.err(); err != nil {
		return Product{}, err
	}
	return product, nil
}
