package domain

import (
	"fmt"
	"time"
)

// ShopSettings are the choices a shop makes about what Ordermill does for it.
type ShopSettings struct {
	// ShopifyOrderConfirmations sends our order confirmation for orders
	// placed in Shopify too. Off by default: Shopify sends its own.
	ShopifyOrderConfirmations bool `json:"shopify_order_confirmations"`
}

// ShopSettingsChanged records a shop's new settings, all of them.
type ShopSettingsChanged struct {
	Settings  ShopSettings `json:"settings"`
	ChangedAt time.Time    `json:"changed_at"`
}

// EventType implements Event.
func (ShopSettingsChanged) EventType() string { return "shop.settings_changed" }

// Settings returns the shop's current settings.
func (s *Shop) Settings() ShopSettings { return s.settings }

// ChangeSettings records new settings; settings equal to the current ones
// return no events.
func (s *Shop) ChangeSettings(next ShopSettings, at time.Time) ([]Event, error) {
	if s.version == 0 {
		return nil, fmt.Errorf("shop: %w", ErrNotFound)
	}
	if at.IsZero() {
		return nil, invalid("changed_at", "is required")
	}
	if next == s.settings {
		return nil, nil
	}
	return []Event{ShopSettingsChanged{Settings: next, ChangedAt: at.UTC()}}, nil
}

// OrderConfirmation is what decides whether an order gets our confirmation
// email: the order as placed and what its shop and history say about it.
type OrderConfirmation struct {
	Source string // SourceAPI or SourceShopify
	Test   bool   // Shopify's test order
	// ArrivedCancelled is true when the order was cancelled by the same
	// change that brought it to us (a first snapshot already cancelled).
	ArrivedCancelled bool
	Shop             *Shop // nil when the shop has no history
}

// Send reports whether the confirmation goes out, and if not, why. Orders
// created in Ordermill are confirmed; Shopify orders only where the shop
// opted in, since Shopify confirms them itself. Never test orders, orders
// that arrive cancelled, or orders of a shop that uninstalled the app.
func (c OrderConfirmation) Send() (bool, string) {
	switch {
	case c.Shop != nil && !c.Shop.Installed():
		return false, "the shop uninstalled the app"
	case c.Test:
		return false, "a test order"
	case c.ArrivedCancelled:
		return false, "the order arrived cancelled"
	case c.Source == SourceShopify && (c.Shop == nil || !c.Shop.Settings().ShopifyOrderConfirmations):
		return false, "Shopify confirms its orders; the shop did not opt in"
	}
	return true, ""
}
