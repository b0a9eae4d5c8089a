package shopify

import (
	"errors"
	"testing"

	"github.com/ordermill/ordermill/domain"
)

func TestDecodeRefund(t *testing.T) {
	body := []byte(`{"id":9100000000000000001,"order_id":5000000000000000123,"created_at":"2025-11-24T10:00:00-05:00",
		"transactions":[{"amount":"1500","kind":"refund","status":"success"}],
		"refund_line_items":[{"line_item_id":9000000000000000001,"quantity":1,"restock_type":"return"}]}`)
	r, err := DecodeRefund(body, "JPY")
	if err != nil {
		t.Fatal(err)
	}
	if r.OrderID != 5000000000000000123 || r.Refund.ID != 9100000000000000001 || r.Refund.Amount() != 1500 {
		t.Errorf("refund = %+v", r)
	}
	if l := r.Refund.RefundLines(); len(l) != 1 || l[0] != (domain.LineQuantity{LineID: "9000000000000000001", Quantity: 1}) {
		t.Errorf("lines = %+v", l)
	}
	if rt := r.Refund.RefundLineItems[0].RestockType; rt != "return" {
		t.Errorf("restock type = %q, want return", rt)
	}
	// A refund line's subtotal, the worth of its units, is exact in
	// subtotal_set and a JSON number in subtotal; a body may have neither.
	for name, tc := range map[string]struct {
		line string
		want *domain.Money
	}{
		"subtotal_set": {`"subtotal":1349.9999,"subtotal_set":{"shop_money":{"amount":"1350","currency_code":"JPY"}}`, &domain.Money{Amount: 1350, Currency: "JPY"}},
		"subtotal":     {`"subtotal":1350.0`, &domain.Money{Amount: 1350, Currency: "JPY"}},
		"neither":      {`"restock_type":"return"`, nil},
	} {
		b := []byte(`{"id":1,"order_id":2,"created_at":"2025-11-24T10:00:00Z","refund_line_items":[{"line_item_id":3,"quantity":1,` + tc.line + `}]}`)
		r, err := DecodeRefund(b, "JPY")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := r.Refund.RefundLineItems[0].Subtotal; (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("%s: subtotal = %v, want %v", name, got, tc.want)
		}
	}
	for name, bad := range map[string][]byte{
		"negative subtotal": []byte(`{"id":1,"order_id":2,"created_at":"2025-11-24T10:00:00Z","refund_line_items":[{"line_item_id":3,"quantity":1,"subtotal":-5}]}`),
		"truncated":         body[:40],
		"non-numeric id":    []byte(`{"id":"not-a-number","order_id":1,"created_at":"2025-11-24T10:00:00Z"}`),
		"no order":          []byte(`{"id":1,"created_at":"2025-11-24T10:00:00Z"}`),
	} {
		var ve *domain.ValidationError
		if _, err := DecodeRefund(bad, "USD"); !errors.As(err, &ve) {
			t.Errorf("%s: err = %v, want a domain.ValidationError", name, err)
		}
	}
}
