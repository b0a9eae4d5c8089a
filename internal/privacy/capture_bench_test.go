package privacy_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/internal/testenv"
)

// BenchmarkWebhookCapture measures what sealing costs webhook capture: the
// same signed orders/create body (about 2 KB) captured with the body stored
// as given and sealed under the customer's key, for a customer whose key is
// cached and for a new customer on every webhook (a key is made and stored
// first). Sequential runs give the ack latency (ns/op), parallel ones the
// capture rate.
func BenchmarkWebhookCapture(b *testing.B) {
	ctx := context.Background()
	cfg, err := config.Load()
	if err != nil {
		b.Fatal(err)
	}
	_, prefix := testenv.Redis(b)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg.DatabaseURL = testenv.DatabaseURL(b)
	cfg.DatabaseReadURL = cfg.DatabaseURL
	cfg.RedisURL, cfg.StreamPrefix = testenv.RedisURL(), prefix
	cfg.DataDir, cfg.MasterKey = b.TempDir(), base64.StdEncoding.EncodeToString(key)
	p, err := platform.Open(ctx, cfg, platform.NewLogger("error"), false)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	const shop, secret = "bench.myshopify.com", "bench-secret"
	if _, err := p.App().RegisterShop(ctx, shops.Registration{Domain: shop, Name: "Bench", Currency: "USD",
		WebhookSecrets: []string{secret}, AccessToken: "shpat_bench"}, eventstore.Metadata{Actor: "bench"}); err != nil {
		b.Fatal(err)
	}
	handler := p.Handler()
	var seq atomic.Int64
	capture := func(b *testing.B, customer func(n int64) int64) {
		n := seq.Add(1)
		body := orderBody(n, customer(n))
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		req := httptest.NewRequest(http.MethodPost, "/webhooks/shopify", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		req.Header.Set("X-Shopify-Shop-Domain", shop)
		req.Header.Set("X-Shopify-Topic", "orders/create")
		req.Header.Set("X-Shopify-Webhook-Id", "bench-"+strconv.FormatInt(n, 10))
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("capture: %d %s", w.Code, w.Body)
		}
	}
	known := func(int64) int64 { return 42 }
	fresh := func(n int64) int64 { return 1_000_000 + n }
	cases := []struct {
		name     string
		cipher   eventstore.Cipher
		customer func(int64) int64
	}{
		{"plain", nil, known},
		{"sealed-known-customer", p.Cipher, known},
		{"sealed-new-customer", p.Cipher, fresh},
	}
	for _, parallel := range []bool{false, true} {
		for _, c := range cases {
			name := c.name + "/sequential"
			if parallel {
				name = c.name + "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				p.Store.SetCipher(c.cipher)
				if parallel {
					b.SetParallelism(4)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							capture(b, c.customer)
						}
					})
				} else {
					for b.Loop() {
						capture(b, c.customer)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
			})
		}
	}
}

// orderBody is an orders/create body of the size Shopify sends for a small order.
func orderBody(id, customer int64) []byte {
	lines := ""
	for i := range 4 {
		lines += fmt.Sprintf(`{"id":%d,"variant_id":%d,"sku":"SKU-%d","title":"Product %d","quantity":1,"price":"12.50"},`, id*10+int64(i), 4000+i, i, i)
	}
	return fmt.Appendf(nil, `{"id":%d,"name":"#%d","email":"c%d@example.test","currency":"USD",`+
		`"created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:05Z","subtotal_price":"50.00","total_price":"50.00",`+
		`"financial_status":"pending","customer":{"id":%d,"email":"c%d@example.test","first_name":"Cus","last_name":"Tomer","phone":"+15550100"},`+
		`"shipping_address":{"first_name":"Cus","last_name":"Tomer","address1":"1 Main Street","city":"Springfield","zip":"12345","country":"US","phone":"+15550100"},`+
		`"billing_address":{"first_name":"Cus","last_name":"Tomer","address1":"1 Main Street","city":"Springfield","zip":"12345","country":"US"},`+
		`"note":"leave at the door","line_items":[%s]}`, id, id, customer, customer, customer, lines[:len(lines)-1])
}
