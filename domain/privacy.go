package domain

import (
	"time"

	"github.com/google/uuid"
)

// RedactionStream is the stream of one shop's erasures: "privacy-<shop>".
func RedactionStream(shop string) string { return "privacy-" + shop }

// CustomerRedacted records that a Shopify customer's personal data was
// erased after customers/redact: the customer's data key was destroyed, so
// every field it sealed reads as erased, and the read models were scrubbed.
// It names the customer and orders by id only and holds no personal data.
type CustomerRedacted struct {
	Shop          string      `json:"shop"`
	CustomerID    int64       `json:"customer_id"`
	Orders        []uuid.UUID `json:"orders"` // the orders whose read models were scrubbed
	KeysDestroyed int         `json:"keys_destroyed"`
	RedactedAt    time.Time   `json:"redacted_at"`
}

// ShopRedacted records that every data key of a shop was destroyed and its
// read models scrubbed, after shop/redact.
type ShopRedacted struct {
	Shop          string    `json:"shop"`
	KeysDestroyed int       `json:"keys_destroyed"`
	RedactedAt    time.Time `json:"redacted_at"`
}

// EventType implements Event.
func (CustomerRedacted) EventType() string { return "customer.redacted" }

// EventType implements Event.
func (ShopRedacted) EventType() string { return "shop.redacted" }
