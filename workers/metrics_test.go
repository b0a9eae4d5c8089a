package workers_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/shopify"
	"github.com/ordermill/ordermill/workers"
)

// TestExternalCallMetrics checks that every attempt at Shopify and SES is
// timed with its status, including the failed ones the client retried.
func TestExternalCallMetrics(t *testing.T) {
	sim := startSimulator(t)
	call(t, "POST", sim+"/_sim/shops", map[string]string{"shop": testShop, "access_token": testToken}, nil)
	call(t, "POST", sim+"/_sim/faults", map[string]any{"admin": map[string]int{"status": http.StatusInternalServerError, "count": 1}}, nil)

	client := shopify.NewAdminClient(shopify.AdminConfig{BaseURL: sim, Backoff: 10 * time.Millisecond, Observe: workers.ObserveShopify})
	if _, err := client.OrdersUpdatedSince(t.Context(), testShop, testToken, time.Time{}, ""); err != nil {
		t.Fatalf("OrdersUpdatedSince: %v", err)
	}
	mailer := workers.NewMailer(workers.MailerConfig{Endpoint: sim, From: "orders@ordermill.test"})
	if _, err := mailer.Send(t.Context(), workers.Mail{To: "ada@example.test", Subject: "hello", Text: "hi"}); err != nil {
		t.Fatalf("send: %v", err)
	}

	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	m := testenv.Metrics{}
	for _, f := range families {
		m[f.GetName()] = f
	}
	for _, labels := range []map[string]string{
		{"service": "shopify", "status": "500"},
		{"service": "shopify", "status": "200"},
		{"service": "ses", "operation": "SendEmail", "status": "200"},
	} {
		if n, ok := m.Sum("ordermill_external_request_duration_seconds", labels); !ok || n < 1 {
			t.Errorf("ordermill_external_request_duration_seconds%v: %v calls, want at least 1", labels, n)
		}
	}
}
