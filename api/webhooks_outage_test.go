package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/database"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
	"github.com/ordermill/ordermill/migrations"
)

// While Postgres is down every capture answers 503 (Shopify retries it),
// however many arrive at once and share a batch; once it is back they are
// stored again.
func TestWebhookCaptureAnswers503WhilePostgresIsDown(t *testing.T) {
	const shop = "outage.myshopify.com"
	ctx := context.Background()
	pg := testenv.StartPostgres(t)
	url := pg.URL("ordermill")
	env := apitest.New(t, func(c *config.Config) {
		if err := database.EnsureExists(ctx, url); err != nil {
			t.Fatal(err)
		}
		if err := migrations.Up(url); err != nil {
			t.Fatal(err)
		}
		c.DatabaseURL, c.DatabaseReadURL = url, url
	})
	if _, err := env.Platform.App().RegisterShop(ctx, shops.Registration{Domain: shop, Name: "Outage", Currency: "USD",
		WebhookSecrets: []string{"s1"}, AccessToken: "shpat_x"}, eventstore.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	body := []byte(orderBody)
	deliverAll := func(round string) []*http.Response {
		out := make([]*http.Response, 16)
		var wg sync.WaitGroup
		for i := range out {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i] = deliver(t, env, "/webhooks/shopify", shop, "orders/create", fmt.Sprintf("%s-%d", round, i), body, sign(body, "s1"))
				out[i].Body.Close()
			}()
		}
		wg.Wait()
		return out
	}
	for _, r := range deliverAll("before") {
		if r.StatusCode != http.StatusOK {
			t.Fatalf("with Postgres up: %d", r.StatusCode)
		}
	}
	pg.Crash()
	for _, r := range deliverAll("down") {
		if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Fatalf("with Postgres down: %d (Retry-After %q), want 503 with Retry-After", r.StatusCode, r.Header.Get("Retry-After"))
		}
	}
	pg.Start()
	for _, r := range deliverAll("after") {
		if r.StatusCode != http.StatusOK {
			t.Fatalf("with Postgres back: %d", r.StatusCode)
		}
	}
	var stored int
	if err := env.Platform.Pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE event_type = 'webhook.received'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 32 {
		t.Fatalf("%d webhooks stored, want the 32 acknowledged", stored)
	}
}
