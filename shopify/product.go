package shopify

import (
	"strconv"
	"strings"
)

// Product is the part of a products/create or products/update webhook body
// that maps Shopify's inventory items to stock keys: each variant names its
// inventory item, whose inventory_levels/update webhooks name nothing else.
type Product struct {
	ID       int64
	Title    string
	Variants []Variant
}

// Variant is one variant of a product. SKU is empty when Shopify sends null
// or "", Title when the variant is the product's only one ("Default Title").
type Variant struct {
	ID              int64
	Title           string
	SKU             string
	InventoryItemID int64
}

// defaultVariantTitle is the title Shopify gives the one variant of a
// product without options; it names nothing a merchant chose.
const defaultVariantTitle = "Default Title"

// variantTitle is a variant's title as a merchant would read it: "" for
// none (null) or the default variant.
func variantTitle(s *string) string {
	if s == nil || strings.TrimSpace(*s) == defaultVariantTitle {
		return ""
	}
	return strings.TrimSpace(*s)
}

// DecodeProduct decodes and validates a products/* webhook body.
func DecodeProduct(body []byte) (Product, error) {
	var raw struct {
		ID       jsonNumber `json:"id"`
		Title    string     `json:"title"`
		Variants []struct {
			ID              jsonNumber `json:"id"`
			Title           *string    `json:"title"`
			SKU             *string    `json:"sku"`
			InventoryItemID jsonNumber `json:"inventory_item_id"`
		} `json:"variants"`
	}
	if err := decodeJSON(body, &raw); err != nil {
		return Product{}, err
	}
	var f fieldErrors
	p := parser{f: &f}
	product := Product{ID: p.id("id", raw.ID), Title: strings.TrimSpace(raw.Title)}
	if product.ID == 0 {
		f.add("id", "is required")
	}
	for i, v := range raw.Variants {
		field := "variants[" + strconv.Itoa(i) + "]"
		variant := Variant{ID: p.id(field+".id", v.ID), Title: variantTitle(v.Title),
			InventoryItemID: p.id(field+".inventory_item_id", v.InventoryItemID)}
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
