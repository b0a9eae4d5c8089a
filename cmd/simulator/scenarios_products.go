package main

import (
	"fmt"
	"time"
)

// Shopify's stock webhooks name inventory items, which only products/*
// bodies tie to variants and SKUs; a scenario that sends stock levels sends
// the catalog first, as a merchant editing each product would.

type productVariant struct {
	ID                  int64   `json:"id"`
	ProductID           int64   `json:"product_id"`
	Title               string  `json:"title"`
	Price               string  `json:"price"`
	SKU                 *string `json:"sku"`
	Position            int     `json:"position"`
	InventoryPolicy     string  `json:"inventory_policy"`
	FulfillmentService  string  `json:"fulfillment_service"`
	InventoryManagement string  `json:"inventory_management"`
	CreatedAt           string  `json:"created_at"`
	UpdatedAt           string  `json:"updated_at"`
	Taxable             bool    `json:"taxable"`
	InventoryItemID     int64   `json:"inventory_item_id"`
	RequiresShipping    bool    `json:"requires_shipping"`
	AdminGraphqlAPIID   string  `json:"admin_graphql_api_id"`
}

type productBody struct {
	ID                int64            `json:"id"`
	Title             string           `json:"title"`
	Vendor            string           `json:"vendor"`
	CreatedAt         string           `json:"created_at"`
	UpdatedAt         string           `json:"updated_at"`
	Status            string           `json:"status"`
	AdminGraphqlAPIID string           `json:"admin_graphql_api_id"`
	Variants          []productVariant `json:"variants"`
}

// catalogUpdates is a products/update for every catalog product at time at;
// each product has the one variant orders buy.
func (g *generator) catalogUpdates(at time.Time) []action {
	ts := at.In(currencies[0].loc).Format(time.RFC3339)
	actions := make([]action, 0, len(catalog))
	for i, p := range catalog {
		id := int64(8_020_394_000_100 + i)
		body := productBody{
			ID: id, Title: p.title, Vendor: "Ordermill Demo", CreatedAt: ts, UpdatedAt: ts, Status: "active",
			AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/Product/%d", id),
			Variants: []productVariant{{
				ID: p.variantID, ProductID: id, Title: p.variantTitle(), Price: formatMoney(p.cents, 2), SKU: nullable(p.sku),
				Position: 1, InventoryPolicy: "deny", FulfillmentService: "manual", InventoryManagement: "shopify",
				CreatedAt: ts, UpdatedAt: ts, Taxable: true, InventoryItemID: p.inventoryItemID, RequiresShipping: true,
				AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/ProductVariant/%d", p.variantID),
			}},
		}
		actions = append(actions, g.single(at, "products/update", body))
	}
	return actions
}
