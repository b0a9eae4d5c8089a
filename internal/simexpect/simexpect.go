// Package simexpect holds what the simulator (cmd/simulator) says an order
// ends as, in the JSON of its GET /_sim/runs/{id}, which the tests compare
// Ordermill's read model with (internal/testenv): one definition for both
// sides of that contract.
package simexpect

// Order is an order's final state as a simulator scenario left it, or as
// Shopify holds it when the run ends.
type Order struct {
	ShopifyID         int64   `json:"shopify_id"`
	Name              string  `json:"name"`
	Currency          string  `json:"currency"`
	Total             int64   `json:"total"`
	FinancialStatus   string  `json:"financial_status"`
	FulfillmentStatus *string `json:"fulfillment_status"`
	Cancelled         bool    `json:"cancelled"`
	Refunded          int64   `json:"refunded"`
	CurrentTotal      int64   `json:"current_total"` // current_total_price: after edits and refunds
	Money             Money   `json:"money"`
	Test              bool    `json:"test"`
	Deleted           bool    `json:"deleted"`
	// Cases names what the order's life exercised (the lifecycle scenario).
	Cases []string `json:"cases"`
	Lines []Line   `json:"lines"`
}

// Money is every other money figure of an order, in minor units, each
// Shopify's field named beside it. Paid is what the order received: nothing
// before payment, then its current total and the refunds it lists.
type Money struct {
	Subtotal         int64 `json:"subtotal"`          // subtotal_price: after edits, before returns
	CurrentSubtotal  int64 `json:"current_subtotal"`  // current_subtotal_price: also without the lines refunds took back
	Tax              int64 `json:"tax"`               // total_tax
	CurrentTax       int64 `json:"current_tax"`       // current_total_tax
	Discounts        int64 `json:"discounts"`         // total_discounts
	CurrentDiscounts int64 `json:"current_discounts"` // current_total_discounts
	Shipping         int64 `json:"shipping"`          // total_shipping_price_set
	CurrentShipping  int64 `json:"current_shipping"`  // current_shipping_price_set
	Paid             int64 `json:"paid"`
}

// Line is one of an order's line items.
type Line struct {
	ID                int64   `json:"id"`
	SKU               *string `json:"sku"`
	VariantID         int64   `json:"variant_id"`
	Quantity          int     `json:"quantity"`
	CurrentQuantity   int     `json:"current_quantity"`
	FulfilledQuantity int     `json:"fulfilled_quantity"`
	Price             int64   `json:"price"` // a unit's, in minor units
}
