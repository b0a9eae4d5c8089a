package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/testenv"
)

// Installing reads the shop's last 60 days of orders back from Shopify,
// with its progress under /api/v1/shop/backfill; older orders are beyond
// what Shopify lets the app see.
func TestInstallBackfill(t *testing.T) {
	e := newInstallEnv(t)
	ctx := context.Background()
	const shop = "backfill.myshopify.com"
	recent := e.sim.Play(t, map[string]any{"scenario": "orders", "shop": shop, "orders": 18, "seed": 3, "start": time.Now().Add(-5 * 24 * time.Hour)})
	e.sim.Play(t, map[string]any{"scenario": "orders", "shop": shop, "orders": 4, "seed": 4, "start": time.Now().Add(-90 * 24 * time.Hour)})

	access, _ := e.install(t, shop)
	var got map[string]any
	eventually(t, "the backfill to finish", func() bool {
		_, got = e.call(t, access, http.MethodGet, "/api/v1/shop/backfill", nil)
		return got["status"] == "done"
	})
	if got["orders_read"] != float64(18) || got["orders_total"] != float64(18) || got["total_exact"] != true || got["pages"] != float64(5) ||
		got["started_at"] == nil || got["finished_at"] == nil || got["last_error"] != nil {
		t.Errorf("backfill progress: %v", got)
	}
	var diff string
	eventually(t, "the last 60 days of orders to equal Shopify's", func() bool {
		diff = testenv.CompareOrders(ctx, t, e.p.Pool, shop, recent.Expected.Orders)
		return diff == ""
	})
	// Workers' own outcomes on orders (backorders) aside, every order event
	// is the backfill's.
	if n := e.count(t, `SELECT count(*) FROM events WHERE tenant_id = $1 AND stream_id LIKE 'order-%'
		AND metadata->>'source' NOT IN ('reconciliation', 'worker')`, shop); n != 0 {
		t.Errorf("%d order events of the backfill not marked as reconciliation", n)
	}
}

// Shopify loses 10% of the webhooks of a run of orders; with the
// reconciliation running every 2 seconds, every order ends equal to
// Shopify's. The Admin API calls made and the time to heal are logged.
func TestTenPercentDroppedWebhooksHeal(t *testing.T) {
	const interval = 2 * time.Second
	e := newInstallEnv(t, func(c *config.Config) { c.ShopifyReconcileInterval = interval })
	const shop = "drop-ten.myshopify.com"
	const orders = 100
	e.install(t, shop)
	e.sim.Do(t, http.MethodDelete, "/_sim/admin/calls", nil, nil)
	run := e.playRun(t, shop, map[string]any{"scenario": "orders", "seed": 10, "orders": orders, "concurrency": 4,
		"drop_pct": 10, "start": time.Now()})
	if run.Dropped == 0 {
		t.Fatal("the run dropped no webhook")
	}
	done := time.Now()
	var diff string
	defer func() {
		if t.Failed() && diff != "" {
			t.Logf("the last difference from Shopify:\n%s", diff)
		}
	}()
	eventually(t, "every order to equal Shopify's after reconciliation", func() bool {
		diff = testenv.CompareOrders(context.Background(), t, e.p.Pool, shop, e.sim.Orders(t, shop))
		return diff == ""
	})
	healed := time.Since(done)
	// The subscription check (every second here) is left out: it is no
	// cost of the orders.
	calls, throttled := 0, 0
	for _, c := range e.sim.AdminCalls(t) {
		if strings.Contains(c.Query, "webhookSubscriptions") {
			continue
		}
		calls++
		if c.Throttled {
			throttled++
		}
	}
	if n := e.count(t, `SELECT count(*) FROM dead_letters WHERE shop = $1`, shop); n != 0 {
		t.Errorf("%d dead letters", n)
	}
	if n := e.count(t, `SELECT count(*) FROM events WHERE tenant_id = $1 AND stream_id LIKE 'order-%' AND metadata->>'source' = 'reconciliation'`, shop); n == 0 {
		t.Error("no order was healed by reconciliation: the dropped webhooks were all made up by later ones")
	}
	t.Logf("%d of %d webhooks dropped; healed %s after the run at a %s interval; %d Admin API calls (%d throttled) for %d orders: %.1f (%.1f) per 100",
		run.Dropped, run.Total, healed.Round(100*time.Millisecond), interval, calls, throttled, orders,
		float64(calls)*100/orders, float64(throttled)*100/orders)
	if slices.ContainsFunc(e.sim.AdminCalls(t), func(c testenv.AdminCall) bool { return c.Status != http.StatusOK }) {
		t.Error("an Admin API call failed")
	}
}
