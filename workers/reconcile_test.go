package workers_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/internal/testenv/webhooktest"
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
	rec := workers.NewReconciler(s.pool, app.New(s.store), admin, tokens{testShop: testToken}, nil)
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
	// Four orders a page: the backfill read its 12 of Shopify's count of 12 in 3 pages.
	if p.BackfillOrdersRead != 12 || p.BackfillOrdersTotal == nil || *p.BackfillOrdersTotal != 12 || !p.BackfillTotalExact || p.BackfillPages != 3 || p.Running {
		t.Errorf("backfill progress: read %d of %v (exact %v) in %d pages, running %v", p.BackfillOrdersRead, p.BackfillOrdersTotal,
			p.BackfillTotalExact, p.BackfillPages, p.Running)
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
	if p, _, _ := rec.Progress(s.ctx, testShop); p.BackfillOrdersRead != 12 || p.OrdersRead <= 12 {
		t.Errorf("after a later run: backfill read %d, all runs %d", p.BackfillOrdersRead, p.OrdersRead)
	}
}

// While a shop's Admin API keeps failing and the run is retrying, nothing
// of the database is held: the shop's row locks at once under a short
// lock_timeout, and an event appended meanwhile (a webhook's) reaches the
// readers of the log, which stop at the oldest open transaction. The
// cancelled run records its error and releases its claim.
func TestReconciliationHoldsNothingWhileShopifyIsDown(t *testing.T) {
	s := newStack(t)
	sim := testenv.StartSimulator(t)
	sim.Do(t, "POST", "/_sim/shops", map[string]string{"shop": testShop, "access_token": testToken}, nil)
	sim.Do(t, "POST", "/_sim/faults", map[string]any{"admin": map[string]any{"status": 503, "count": 1000}}, nil)
	admin := shopify.NewAdminClient(shopify.AdminConfig{BaseURL: sim.URL, Attempts: 1000, Backoff: 500 * time.Millisecond, MaxWait: time.Second})
	rec := workers.NewReconciler(s.pool, app.New(s.store), admin, tokens{testShop: testToken}, nil)
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- rec.Reconcile(ctx, testShop) }()
	waitFor(t, "the run to meet the failing Admin API", func() bool { return len(sim.AdminCalls(t)) > 0 })

	if n := s.count(t, `SELECT count(*) FROM shopify_reconciliation WHERE shop = $1 AND claimed_until > now()`, testShop); n != 1 {
		t.Fatalf("the running reconciliation has no claim on its shop")
	}
	tx, err := s.pool.Begin(s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(s.ctx, `SET LOCAL lock_timeout = '500ms'`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(s.ctx, `SELECT 1 FROM shopify_reconciliation WHERE shop = $1 FOR UPDATE`, testShop); err != nil {
		t.Fatalf("the shop's reconciliation row is locked during the Admin API call: %v", err)
	}
	if err := tx.Rollback(s.ctx); err != nil {
		t.Fatal(err)
	}
	registered, err := domain.RegisterShop(testShop, "Test shop", "USD", 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ev := s.append(t, domain.ShopStream(testShop), testShop, eventstore.NoStream, registered...)[0]
	waitFor(t, "the appended event to be readable in commit order", func() bool {
		return s.count(t, `SELECT count(*) FROM events WHERE event_id = $1 AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())`, ev.ID) == 1
	})
	select {
	case err := <-done:
		t.Fatalf("the run ended while the Admin API was still failing: %v", err)
	default:
	}

	cancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled run reported success")
	}
	p, found, err := rec.Progress(s.ctx, testShop)
	if err != nil || !found || p.LastError == nil || p.LastRunAt == nil {
		t.Fatalf("progress after the failed run: %+v %v %v", p, found, err)
	}
	if n := s.count(t, `SELECT count(*) FROM shopify_reconciliation WHERE shop = $1 AND claimed_by IS NULL AND claimed_until IS NULL`, testShop); n != 1 {
		t.Error("the failed run kept its claim")
	}
}

// An orders/delete that overtook its order is held; reconciliation (and an
// install's backfill) then reads the order from the Admin API as it was
// before its deletion and must place it deleted: Shopify lists no deleted
// orders, so no later run would delete it.
func TestReconciliationKeepsAHeldDeletion(t *testing.T) {
	rig := webhooktest.New(t, testShop)
	sim := testenv.StartSimulator(t)
	sim.Do(t, "POST", "/_sim/shops", map[string]string{"shop": testShop, "access_token": testToken}, nil)
	run := sim.Play(t, map[string]any{"scenario": "orders", "shop": testShop, "orders": 1, "seed": 5,
		"start": time.Now().Add(-time.Hour), "drop_pct": 100})
	if len(run.Expected.Orders) != 1 || run.Expected.Orders[0].Deleted {
		t.Fatalf("want one live order in Shopify, got %+v", run.Expected.Orders)
	}
	id := run.Expected.Orders[0].ShopifyID
	deletion := strings.Replace(string(sampleBody(t, "orders_delete.json")), "1073459974", strconv.FormatInt(id, 10), 1)
	rig.Process(rig.Capture("early-delete", shopify.TopicOrdersDelete, deletion))
	order := domain.ShopifyOrderID(testShop, id)
	if held, err := rig.Store.ReadStream(rig.Ctx, domain.OrderDeletionStream(order), 1); err != nil || len(held) != 1 {
		t.Fatalf("the deletion is not held: %d events, %v", len(held), err)
	}

	admin := shopify.NewAdminClient(shopify.AdminConfig{BaseURL: sim.URL})
	rec := workers.NewReconciler(rig.Store.Pool(), app.New(rig.Store), admin, tokens{testShop: testToken}, nil)
	if err := rec.StartBackfill(rig.Ctx, testShop); err != nil {
		t.Fatal(err)
	}
	if err := rec.Reconcile(rig.Ctx, testShop); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	placed, err := app.Update(rig.Ctx, rig.Store, domain.OrderStream(order), domain.NewOrderFromHistory,
		func(*domain.Order) ([]domain.Event, error) { return nil, nil })
	if err != nil {
		t.Fatalf("the order was not placed: %v", err)
	}
	if !placed.Aggregate.Snapshot().Deleted {
		t.Errorf("order %d was placed alive over its held deletion", id)
	}
	if p, _, err := rec.Progress(rig.Ctx, testShop); err != nil || p.OrdersRead != 1 {
		t.Errorf("progress: %+v, %v; want the one order read", p, err)
	}
}
