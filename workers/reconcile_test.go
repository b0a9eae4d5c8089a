package workers_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/projections"
	"github.com/ordermill/ordermill/shopify"
	"github.com/ordermill/ordermill/workers"
)

// Every webhook of a run is lost; the install's backfill reads the orders
// back from the Admin API and brings each to Shopify's state, marked as
// reconciliation. Running again appends nothing.
func TestReconciliationHealsMissedWebhooks(t *testing.T) {
	s := newStack(t)
	sim := testenv.StartSimulator(t)
	sim.Do(t, "POST", "/_sim/shops", map[string]string{"shop": testShop, "access_token": testToken}, nil)
	run := sim.Play(t, map[string]any{"scenario": "orders", "shop": testShop, "orders": 12, "seed": 11,
		"start": time.Now().Add(-6 * time.Hour), "drop_pct": 100})
	if run.Dropped != run.Total || run.Sent != 0 {
		t.Fatalf("want every webhook dropped: %d of %d dropped, %d sent", run.Dropped, run.Total, run.Sent)
	}
	admin := shopify.NewAdminClient(shopify.AdminConfig{BaseURL: sim.URL, Bucket: shopify.NewRedisBucket(s.rdb, s.prefix)})
	rec := workers.NewReconciler(s.pool, s.store, admin, tokens{testShop: testToken}, nil)
	if err := rec.StartBackfill(s.ctx, testShop); err != nil {
		t.Fatal(err)
	}
	if err := rec.Reconcile(s.ctx, testShop); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	s.runProjectors(t, projections.NewOrders(s.rdb, s.prefix))
	var diff string
	waitFor(t, "orders_view to equal Shopify's orders", func() bool {
		diff = testenv.CompareOrders(context.Background(), t, s.pool, testShop, run.Expected.Orders)
		return diff == ""
	})
	p, found, err := rec.Progress(s.ctx, testShop)
	if err != nil || !found || p.OrdersRead != 12 || p.SnapshotsAppended == 0 || p.BackfillDoneAt == nil || p.LastError != nil {
		t.Fatalf("progress: %+v %v %v", p, found, err)
	}
	if n := s.count(t, `SELECT count(*) FROM events WHERE stream_id LIKE 'order-%' AND metadata->>'source' IS DISTINCT FROM 'reconciliation'`); n != 0 {
		t.Errorf("%d order events not marked as reconciliation", n)
	}

	events := s.count(t, `SELECT count(*) FROM events`)
	if err := rec.Reconcile(s.ctx, testShop); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if n := s.count(t, `SELECT count(*) FROM events`); n != events {
		t.Errorf("the second run appended %d events to orders already up to date", n-events)
	}
}
