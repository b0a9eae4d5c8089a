package shopify

import (
	"errors"
	"strings"
	"testing"

	"github.com/ordermill/ordermill/domain"
)

// FuzzDecodeWebhookBodies feeds arbitrary bodies to the decoders of
// the non-order webhooks (inventory levels, refunds, the privacy topics and
// app/uninstalled): none may panic, every refusal is a *domain.ValidationError,
// which the webhook processor records as a permanent failure instead of
// retrying, and nothing CheckJSON refuses is accepted.
func FuzzDecodeWebhookBodies(f *testing.F) {
	f.Add([]byte(`{"inventory_item_id":271878346596884015,"location_id":24826418,"available":6,"updated_at":"2024-03-01T10:00:00-05:00"}`), "USD")
	f.Add([]byte(`{"id":509562969,"order_id":450789469,"created_at":"2024-03-01T10:00:00+09:00","transactions":[{"amount":"1000","kind":"refund","status":"success"}],"refund_line_items":[{"line_item_id":1,"quantity":2}]}`), "JPY")
	f.Add([]byte(`{"shop_domain":"demo.myshopify.com","customer":{"id":"7000000000000000001"},"orders_to_redact":[1,"2",3.5]}`), "")
	f.Add([]byte(`{"shop_id":954889,"shop_domain":"demo.myshopify.com"}`), "")
	f.Add([]byte(`{"id":954889,"myshopify_domain":"demo.myshopify.com"}`), "")
	f.Add([]byte(`{"order_id":1e400,"id":-1,"created_at":"not a time"}`), "XXX")
	f.Add([]byte(`{"inventory_item_id":1,"location_id":2,"available":6,"available":600,"updated_at":"2024-03-01T10:00:00Z"}`), "USD")
	f.Fuzz(func(t *testing.T, body []byte, currency string) {
		strict := domain.CheckJSON(body)
		check := func(what string, err error) {
			var ve *domain.ValidationError
			if err != nil && !errors.As(err, &ve) {
				t.Fatalf("%s: error is not a *domain.ValidationError: %v", what, err)
			}
			if err == nil && strict != nil {
				t.Fatalf("%s: accepted a body not processed as sent: %v", what, strict)
			}
		}
		_, err := DecodeInventoryLevel(body)
		check("inventory level", err)
		r, err := DecodeRefund(body, currency)
		check("refund", err)
		if err == nil && (r.OrderID == 0 || r.Refund.ID == 0 || !domain.IsCurrencyCode(currency)) {
			t.Fatalf("refund accepted without its ids or currency: %+v", r)
		}
		signer := Signer{Domain: "demo.myshopify.com", ShopID: 954889}
		for _, topic := range []string{"customers/redact", "customers/data_request", "shop/redact", "app/uninstalled"} {
			v, err := DecodeWebhook(topic, body, signer)
			check(topic, err)
			if err == nil && !namesSigner(v, signer) {
				t.Fatalf("%s accepted a body of another shop: %+v", topic, v)
			}
		}
	})
}

// namesSigner reports whether a decoded shop-naming body names the signer.
func namesSigner(v any, signer Signer) bool {
	switch b := v.(type) {
	case ComplianceRequest:
		return b.ShopID == signer.ShopID && strings.EqualFold(strings.TrimSpace(b.ShopDomain), signer.Domain)
	case Shop:
		return b.ID == signer.ShopID && strings.EqualFold(strings.TrimSpace(b.MyshopifyDomain), signer.Domain)
	}
	return false
}
