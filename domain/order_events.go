package domain

import (
	"time"

	"github.com/google/uuid"
)

// Order sources recorded on order.placed.
const (
	SourceAPI     = "api"
	SourceShopify = "shopify"
)

// PlacedLine is an order line as it was placed: the part of a Line that never changes.
type PlacedLine struct {
	ID        string `json:"id"`
	SKU       string `json:"sku"`
	VariantID int64  `json:"variant_id"`
	Title     string `json:"title"`
	// VariantTitle is absent from lines placed before it was kept.
	VariantTitle string `json:"variant_title,omitempty"`
	Quantity     int    `json:"quantity"`
	UnitPrice    int64  `json:"unit_price"`
}

// LineQuantity is a number of units of one order line.
type LineQuantity struct {
	LineID   string `json:"line_id"`
	Quantity int    `json:"quantity"`
}

// OrderPlaced carries everything needed to rebuild an order from scratch.
// Amounts are minor units of Currency. CustomerID is the Shopify customer
// (0: none known); that customer's data key seals Email and CustomerName, so
// erasing the customer erases them while the id stays.
type OrderPlaced struct {
	OrderID          uuid.UUID    `json:"order_id"`
	Shop             string       `json:"shop"`
	Name             string       `json:"name"`
	ShopifyID        int64        `json:"shopify_id"`
	CustomerID       int64        `json:"customer_id,omitempty"`
	Source           string       `json:"source"`
	Email            string       `json:"email"`
	CustomerName     string       `json:"customer_name"`
	Currency         string       `json:"currency"`
	Lines            []PlacedLine `json:"lines"`
	Subtotal         int64        `json:"subtotal"`
	Total            int64        `json:"total"`
	PlacedAt         time.Time    `json:"placed_at"`
	ShopifyUpdatedAt time.Time    `json:"shopify_updated_at"`
}

// OrderPaid records that the order total was paid in full.
type OrderPaid struct {
	Amount int64     `json:"amount"`
	PaidAt time.Time `json:"paid_at"`
}

// OrderFulfilled records one fulfilment (one shipment); whether the order is
// now partially or completely fulfilled is derived from the lines.
type OrderFulfilled struct {
	FulfillmentID   string         `json:"fulfillment_id"`
	Lines           []LineQuantity `json:"lines"`
	FulfilledAt     time.Time      `json:"fulfilled_at"`
	TrackingCompany string         `json:"tracking_company,omitempty"`
	TrackingNumbers []string       `json:"tracking_numbers,omitempty"`
	TrackingURLs    []string       `json:"tracking_urls,omitempty"`
}

// OrderFulfillmentUpdated records Shopify's news about a shipment: new
// tracking, or a status such as cancelled (its units no longer count as shipped).
type OrderFulfillmentUpdated struct {
	FulfillmentID   string    `json:"fulfillment_id"`
	Status          string    `json:"status"`
	TrackingCompany string    `json:"tracking_company,omitempty"`
	TrackingNumbers []string  `json:"tracking_numbers,omitempty"`
	TrackingURLs    []string  `json:"tracking_urls,omitempty"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// OrderEdited records changed lines: Lines holds every line with its current
// quantity (0 for a removed line) and price; Subtotal and Total are the new ones.
type OrderEdited struct {
	Lines    []PlacedLine `json:"lines"`
	Subtotal int64        `json:"subtotal"`
	Total    int64        `json:"total"`
	EditedAt time.Time    `json:"edited_at"`
}

// OrderDeleted records that the order was deleted in Shopify: it is hidden
// from lists and lookups, and its history is kept.
type OrderDeleted struct {
	DeletedAt time.Time `json:"deleted_at"`
}

// OrderCancelled records the cancellation of an order that shipped nothing.
type OrderCancelled struct {
	Reason      string    `json:"reason"`
	CancelledAt time.Time `json:"cancelled_at"`
}

// OrderAnnotated records the merchant's note and tags of a local order, as
// they are now. The note is personal (sealed with the shop's key).
type OrderAnnotated struct {
	Note        string    `json:"note"`
	Tags        []string  `json:"tags"`
	AnnotatedAt time.Time `json:"annotated_at"`
}

// OrderRefunded records one refund of money and, optionally, of line units.
type OrderRefunded struct {
	RefundID   string         `json:"refund_id"`
	Amount     int64          `json:"amount"`
	Lines      []LineQuantity `json:"lines"`
	RefundedAt time.Time      `json:"refunded_at"`
	Reason     string         `json:"reason,omitempty"`
	// LowersCurrent marks a Shopify refund applied ahead of the snapshot
	// that carries it: it lowers the order's current line quantities,
	// subtotal and tax (by LinesSubtotal and LinesTax, the worth and tax of
	// the units taken back) and total (by Amount), as Shopify's current_*
	// fields do, until that snapshot states them.
	LowersCurrent bool  `json:"lowers_current,omitempty"`
	LinesSubtotal int64 `json:"lines_subtotal,omitempty"`
	LinesTax      int64 `json:"lines_tax,omitempty"`
}

// OrderSnapshotApplied records that a newer Shopify snapshot was processed.
// It is kept, rather than folded into other events, because "latest updated_at
// wins" needs the newest updated_at seen even when that snapshot changed nothing
// we model (an edited note or address); otherwise a late, older delivery could
// not be recognised as stale, and the auditor could not see that it arrived.
//
// Facts, when present, are the order as the snapshot states it, and replace
// what the order was: Shopify's word wins. Events recorded before snapshots
// carried them have none. Email, CustomerName and Note are personal (sealed with the
// key of CustomerID). Overrides is set when the snapshot contradicted local
// state (a local cancel or refund Shopify does not know, or a Shopify change
// local rules refuse): what differed, before and after.
type OrderSnapshotApplied struct {
	ShopifyUpdatedAt time.Time   `json:"shopify_updated_at"`
	Facts            *OrderFacts `json:"facts,omitempty"`
	CustomerID       int64       `json:"customer_id,omitempty"`
	Email            string      `json:"email,omitempty"`
	CustomerName     string      `json:"customer_name,omitempty"`
	Note             string      `json:"note,omitempty"`
	Overrides        []Override  `json:"overrides,omitempty"`
}

// Override is one field where Shopify's snapshot replaced local state, or a
// local rule that refused a Shopify change (Field "rule", After the refusal).
type Override struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// EventType implements Event.
func (OrderPlaced) EventType() string { return "order.placed" }

// EventType implements Event.
func (OrderPaid) EventType() string { return "order.paid" }

// EventType implements Event.
func (OrderFulfilled) EventType() string { return "order.fulfilled" }

// EventType implements Event.
func (OrderCancelled) EventType() string { return "order.cancelled" }

// EventType implements Event.
func (OrderRefunded) EventType() string { return "order.refunded" }

// EventType implements Event.
func (OrderSnapshotApplied) EventType() string { return "order.snapshot_applied" }

// EventType implements Event.
func (OrderEdited) EventType() string { return "order.edited" }

// EventType implements Event.
func (OrderFulfillmentUpdated) EventType() string { return "order.fulfillment_updated" }

// EventType implements Event.
func (OrderDeleted) EventType() string { return "order.deleted" }

// EventType implements Event.
func (OrderAnnotated) EventType() string { return "order.annotated" }
