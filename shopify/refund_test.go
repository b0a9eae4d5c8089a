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
	// A refund line's subtotal and tax, the worth of its units and their
	// tax, are exact in the *_set MoneyBags and JSON numbers beside them; a
	// body may have neither.
	yen := func(n int64) *domain.Money { return &domain.Money{Amount: n, Currency: "JPY"} }
	for name, tc := range map[string]struct {
		line          string
		subtotal, tax *domain.Money
	}{
		"sets": {`"subtotal":1349.9999,"subtotal_set":{"shop_money":{"amount":"1350","currency_code":"JPY"}},` +
			`"total_tax":135.0001,"total_tax_set":{"shop_money":{"amount":"135","currency_code":"JPY"}}`, yen(1350), yen(135)},
		"numbers": {`"subtotal":1350.0,"total_tax":135`, yen(1350), yen(135)},
		"neither": {`"restock_type":"return"`, nil, nil},
	} {
		b := []byte(`{"id":1,"order_id":2,"created_at":"2025-11-24T10:00:00Z","refund_line_items":[{"line_item_id":3,"quantity":1,` + tc.line + `}]}`)
		r, err := DecodeRefund(b, "JPY")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rl := r.Refund.RefundLineItems[0]
		for field, m := range map[string][2]*domain.Money{"subtotal": {rl.Subtotal, tc.subtotal}, "total_tax": {rl.TotalTax, tc.tax}} {
			if got, want := m[0], m[1]; (got == nil) != (want == nil) || (got != nil && *got != *want) {
				t.Errorf("%s: %s = %v, want %v", name, field, got, want)
			}
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
