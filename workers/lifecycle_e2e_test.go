package workers_test

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/testenv"
)

// 500 Shopify order lives with edits, status-only snapshots, cancellations
// after payment, refunds before and after their snapshot, partial
// fulfilments and tracking updates, test, arriving-cancelled and deleted
// orders, sent with duplicates and late snapshots over real HTTP to the
// whole platform: every order ends as the simulator's final state (counted
// per class of case, among them orders stated fulfilled without
// fulfillments and then refunded), stock levels land on the keys orders
// reserve, nothing is dead-lettered, and confirmations go out exactly for
// the orders the shop's opt-in covers.
func TestLifecycleEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const shop, secret = "lifecycle.myshopify.com", "lifecycle-webhook-secret"

	sim := testenv.StartSimulator(t)
	cfg := testenv.Config(t)
	cfg.SESEndpoint, cfg.ShopifyAPIURL = sim.URL, sim.URL
	p, srv := openWithShop(ctx, t, cfg, shop, secret)
	optIn, err := eventstore.Encode(shop, eventstore.Metadata{Actor: "test"},
		domain.ShopSettingsChanged{Settings: domain.ShopSettings{ShopifyOrderConfirmations: true}, ChangedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Store.Append(ctx, domain.ShopStream(shop), eventstore.AnyVersion, optIn...); err != nil {
		t.Fatal(err)
	}
	sim.Do(t, "POST", "/_sim/shops", map[string]string{"shop": shop, "access_token": "shpat_lifecycle"}, nil)
	roles := make(chan error, 1)
	go func() { roles <- p.Run(ctx, []string{"relay", "projectors", "workers"}) }()

	var created struct{ ID string }
	if code := sim.Do(t, "POST", "/_sim/runs", map[string]any{
		"scenario": "lifecycle", "shop": shop, "secret": secret, "target": srv.URL, "seed": 20261206,
		"orders": 500, "concurrency": 4, "duplicate_pct": 5, "reorder_pct": 15,
	}, &created); code != 201 {
		t.Fatalf("start run: %d", code)
	}
	var run testenv.SimRun
	waitLong(t, "the simulator run", func() bool {
		sim.Do(t, "GET", "/_sim/runs/"+created.ID+"?deliveries=false", nil, &run)
		return run.Status == "done"
	})
	sim.Do(t, "GET", "/_sim/runs/"+created.ID, nil, &run)
	acked := map[string]bool{}
	for _, d := range run.Deliveries {
		if d.Status == 200 {
			acked[d.WebhookID] = true
		}
	}
	if run.Unexpected != 0 {
		t.Errorf("%d deliveries got an unexpected status", run.Unexpected)
	}
	waitLong(t, "every acknowledged webhook processed or failed", func() bool {
		return processedCount(ctx, t, p.Pool, shop) == len(acked)
	})

	// Per class of case: how many of its orders end as Shopify's newest snapshot.
	var diffs map[int64]string
	waitLongOr(t, func() bool {
		diffs = testenv.OrderDiffs(ctx, t, p.Pool, shop, run.Expected.Orders)
		return len(diffs) == 0
	})
	total, wrong := map[string]int{}, map[string]int{}
	for _, o := range run.Expected.Orders {
		cases := append([]string{"all"}, o.Cases...)
		if slices.Contains(cases, "status_only_fulfilled") &&
			(slices.Contains(cases, "refund_before_snapshot") || slices.Contains(cases, "refund_after_snapshot")) {
			cases = append(cases, "status_only_fulfilled_then_refunded")
		}
		for _, c := range cases {
			total[c]++
			if _, bad := diffs[o.ShopifyID]; bad {
				wrong[c]++
			}
		}
	}
	classes := make([]string, 0, len(total))
	for c := range total {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		t.Logf("%-36s %3d of %3d orders equal Shopify's final state", c, total[c]-wrong[c], total[c])
	}
	if n := total["status_only_fulfilled_then_refunded"]; n < 12 {
		t.Errorf("%d orders status-only fulfilled, then refunded; the scenario should have 12 or more", n)
	}
	if len(diffs) > 0 {
		examples := slices.Sorted(func(yield func(string) bool) {
			for _, d := range diffs {
				if !yield(d) {
					return
				}
			}
		})
		t.Errorf("%d orders differ from the simulator's final state, e.g. %s", len(diffs), strings.Join(examples[:min(3, len(examples))], " | "))
	}

	// Confirmations: the shop opted in, so every order but test orders and
	// orders that arrived cancelled: whose snapshot that placed the order
	// was cancelled already, as its first one is, or as a cancellation that
	// overtook orders/create is.
	want := wantConfirmations(ctx, t, p, shop, run)
	waitLongOr(t, func() bool {
		return sentConfirmations(ctx, t, p, shop) >= want
	})
	if got := sentConfirmations(ctx, t, p, shop); got != want {
		t.Errorf("%d order confirmations sent, want %d", got, want)
	}

	// Stock levels and reservations meet on the catalog's SKU and variant keys.
	var itemKeys, backorders, dead int
	if err := p.Pool.QueryRow(ctx, `SELECT count(*) FROM inventory_view WHERE shop = $1 AND key LIKE 'item-%'`, shop).Scan(&itemKeys); err != nil {
		t.Fatal(err)
	}
	if itemKeys != 0 {
		t.Errorf("%d stock rows keyed by inventory item", itemKeys)
	}
	var levels int
	if err := p.Pool.QueryRow(ctx, `SELECT count(*) FROM inventory_view WHERE shop = $1 AND shopify_levels <> '{}' AND reserved + on_hand > 0`,
		shop).Scan(&levels); err != nil || levels == 0 {
		t.Errorf("no stock row holds both Shopify's levels and order figures: %d, %v", levels, err)
	}
	if err := p.Pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE tenant_id = $1 AND event_type = 'inventory.backordered'`, shop).Scan(&backorders); err != nil {
		t.Fatal(err)
	}
	if err := p.Pool.QueryRow(ctx, `SELECT count(*) FROM dead_letters`).Scan(&dead); err != nil || dead != 0 {
		t.Errorf("dead letters = %d, %v; want none", dead, err)
	}
	t.Logf("%d deliveries, %d stock rows with Shopify levels, %d backorders recorded, %d dead letters", run.Total, levels, backorders, dead)
	cancel()
	<-roles
}

// wantConfirmations counts the orders of the run that should be confirmed:
// neither test orders nor placed by a snapshot already cancelled, going by
// the body of the webhook that placed each.
func wantConfirmations(ctx context.Context, t *testing.T, p *platform.Platform, shop string, run testenv.SimRun) int {
	t.Helper()
	bodies := map[string][]byte{}
	for _, d := range run.Deliveries {
		bodies[d.WebhookID] = d.Body
	}
	test := map[int64]bool{}
	for _, o := range run.Expected.Orders {
		test[o.ShopifyID] = o.Test
	}
	// A batch of webhooks commits together: the order arrived as every
	// webhook of the transaction that placed it left it.
	rows, err := p.Pool.Query(ctx, `SELECT o.shopify_id, array_agg(DISTINCT coalesce(w.webhook_id, '')) FROM orders_view o
		JOIN events first ON first.stream_id = 'order-' || o.id::text AND first.stream_version = 1
		JOIN events e ON e.stream_id = first.stream_id AND e.transaction_id = first.transaction_id
		LEFT JOIN webhooks_view w ON w.id::text = e.metadata ->> 'causation_id'
		WHERE o.shop = $1 GROUP BY o.shopify_id`, shop)
	if err != nil {
		t.Fatal(err)
	}
	want, overtaken := 0, 0
	for rows.Next() {
		var (
			id       int64
			webhooks []string
		)
		if err := rows.Scan(&id, &webhooks); err != nil {
			t.Fatal(err)
		}
		cancelled := false
		for _, w := range webhooks {
			var placedBy struct {
				CancelledAt *string `json:"cancelled_at"`
			}
			if err := json.Unmarshal(bodies[w], &placedBy); err != nil {
				t.Fatalf("order %d was placed by %q, not a webhook of the run: %v", id, w, err)
			}
			cancelled = cancelled || placedBy.CancelledAt != nil
		}
		switch {
		case test[id]:
		case cancelled:
			overtaken++
		default:
			want++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d orders arrived cancelled (first snapshot, or a cancellation processed with or ahead of orders/create)", overtaken)
	return want
}

func sentConfirmations(ctx context.Context, t *testing.T, p *platform.Platform, shop string) (n int) {
	t.Helper()
	if err := p.Pool.QueryRow(ctx, `SELECT count(*) FROM emails_view WHERE shop = $1 AND kind = $2 AND status = 'sent'`,
		shop, domain.EmailOrderConfirmation).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitLong is waitFor for a whole scenario on a loaded machine.
func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !waitLongOr(t, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// waitLongOr waits up to five minutes for cond and reports whether it held.
func waitLongOr(t *testing.T, cond func() bool) bool {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}
