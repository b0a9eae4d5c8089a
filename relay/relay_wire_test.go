package relay

import (
	"encoding/json"
	"testing"
)

// orderPlacedJSONB is an order.placed payload as Postgres prints jsonb.
const orderPlacedJSONB = `{"name": "#1001", "shop": "bench.myshopify.com", "email": "ann@example.com", "lines": [{"id": "l1", "sku": "TEE", "title": "Tee", "quantity": 2, "unit_price": 1500}, {"id": "l2", "title": "Mug", "quantity": 1, "unit_price": 1000, "variant_id": 9007199254740993}, {"id": "l3", "title": "Gift wrap", "quantity": 1, "unit_price": 500}], "total": 5000, "source": "api", "currency": "EUR", "order_id": "00000000-0000-0000-0000-000000000000", "subtotal": 4500, "placed_at": "2026-03-01T10:00:00Z", "customer_name": "Ann Lee"}`

// appendCompactJSON must write what json.Marshal writes for a RawMessage,
// for any valid JSON.
func FuzzAppendCompactJSON(f *testing.F) {
	for _, s := range []string{orderPlacedJSONB, `"<a&b> \" \\ \u2028 \u2029 é"`, "[1, 2.5e3, true, null]\n", ` { "a\"b" : [ ] } `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if !json.Valid([]byte(src)) {
			return
		}
		want, err := json.Marshal(json.RawMessage(src))
		if err != nil {
			t.Fatal(err)
		}
		if got := appendCompactJSON([]byte("x"), []byte(src)); string(got) != "x"+string(want) {
			t.Fatalf("appendCompactJSON(%q)\n got %q\nwant %q", src, got[1:], want)
		}
	})
}

func BenchmarkAppendCompactJSON(b *testing.B) {
	src := []byte(orderPlacedJSONB)
	buf := make([]byte, 0, 2*len(src))
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		buf = appendCompactJSON(buf[:0], src)
	}
}
