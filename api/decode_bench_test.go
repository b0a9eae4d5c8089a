package api

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDecodeStrict decodes an order with 20 lines, the decoding every
// JSON request body goes through.
func BenchmarkDecodeStrict(b *testing.B) {
	lines := make([]string, 20)
	for i := range lines {
		lines[i] = fmt.Sprintf(`{"sku":"SKU-%d","title":"Leather Notebook A5, Chloé edition","quantity":%d,"unit_price":3400}`, i, i+1)
	}
	body := []byte(`{"name":"#1001","email":"ada@example.test","customer_name":"Ada Lovelace","currency":"EUR","lines":[` +
		strings.Join(lines, ",") + `]}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var req createOrderRequest
		if err := decodeStrict(body, &req); err != nil {
			b.Fatal(err)
		}
	}
}
