package eventstore

import (
	"os"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
)

// BenchmarkEncodeRow checks and encodes the webhook.received event of a
// Shopify order webhook, which every webhook capture appends.
func BenchmarkEncodeRow(b *testing.B) {
	body, err := os.ReadFile("../shopify/testdata/order.json")
	if err != nil {
		b.Fatal(err)
	}
	events, err := Encode("demo.myshopify.com", Metadata{Actor: "shopify", Source: "webhook"}, domain.WebhookReceived{
		Shop: "demo.myshopify.com", Topic: "orders/create", WebhookID: "w-1", EventID: "e-1",
		Headers: map[string]string{"X-Shopify-Topic": "orders/create", "Content-Type": "application/json"},
		Body:    body, ReceivedAt: time.Date(2025, 11, 24, 10, 0, 0, 0, time.UTC),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(events[0].Data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeRow("webhook-demo.myshopify.com:w-1", 0, events[0]); err != nil {
			b.Fatal(err)
		}
	}
}
