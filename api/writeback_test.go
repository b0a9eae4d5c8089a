package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/testenv"
)

// call sends one API request as the signed-in user, with header as name,
// value pairs, and decodes the answer.
func (e *installEnv) call(t *testing.T, access, method, path string, body any, header ...string) (int, map[string]any) {
	t.Helper()
	var rd bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = *bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+path, &rd)
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// playRun has the simulator send a run to the installed shop and waits
// until it is done.
func (e *installEnv) playRun(t *testing.T, shop string, params map[string]any) testenv.SimRun {
	t.Helper()
	params["shop"], params["secret"], params["target"] = shop, e.cfg.ShopifyClientSecret, e.url
	var run struct{ ID string }
	if code := e.sim.Do(t, http.MethodPost, "/_sim/runs", params, &run); code != http.StatusCreated {
		t.Fatalf("start run: %d", code)
	}
	var r testenv.SimRun
	eventually(t, "the run to finish", func() bool {
		e.sim.Do(t, http.MethodGet, "/_sim/runs/"+run.ID+"?deliveries=false", nil, &r)
		return r.Status == "done"
	})
	return r
}

// playOrders plays a run to the installed shop and waits until every
// webhook it sent is processed.
func (e *installEnv) playOrders(t *testing.T, shop string, params map[string]any) testenv.SimRun {
	t.Helper()
	r := e.playRun(t, shop, params)
	eventually(t, "every webhook of the run to be processed", func() bool {
		return e.count(t, `SELECT count(*) FROM webhooks_view WHERE shop = $1 AND status = 'processed'`, shop) == r.Acknowledged
	})
	return r
}

// quiet waits until every webhook the mutations caused so far was answered
// and processed, so that what follows is measured alone.
func (e *installEnv) quiet(t *testing.T, shop string) {
	t.Helper()
	// Every delivery answered means every webhook is stored; each must then
	// have its outcome in the event store (version 2 of its stream). The
	// webhooks log is a read model and can lack a row stored a moment ago.
	eventually(t, "the mutations' webhooks to be processed", func() bool {
		return !slices.ContainsFunc(e.sim.MutationDeliveries(t, shop), func(d testenv.SimDelivery) bool { return d.Status == 0 }) &&
			e.count(t, `SELECT count(*) FROM events r WHERE r.tenant_id = $1 AND r.event_type = 'webhook.received'
				AND NOT EXISTS (SELECT FROM events o WHERE o.stream_id = r.stream_id AND o.stream_version = 2)`, shop) == 0
	})
}

// converged waits until every webhook the mutations caused was answered
// and every order of the shop equals Shopify's, then checks that no
// webhook failed and nothing was dead-lettered.
func (e *installEnv) converged(t *testing.T, shop string) {
	t.Helper()
	e.quiet(t, shop)
	for _, d := range e.sim.MutationDeliveries(t, shop) {
		if d.Status != http.StatusOK {
			t.Errorf("%s answered %d: %s", d.Topic, d.Status, d.Error)
		}
	}
	var diff string
	eventually(t, "every order to equal Shopify's", func() bool {
		diff = testenv.CompareOrders(context.Background(), t, e.p.Pool, shop, e.sim.Orders(t, shop))
		return diff == ""
	})
	if n := e.count(t, `SELECT count(*) FROM events WHERE tenant_id = $1 AND event_type = 'webhook.failed'`, shop); n != 0 {
		t.Errorf("%d webhooks failed", n)
	}
	rows, err := e.p.Pool.Query(context.Background(), `SELECT handler, event_type, error FROM dead_letters WHERE shop = $1`, shop)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var handler, typ, msg string
		if err := rows.Scan(&handler, &typ, &msg); err != nil {
			t.Fatal(err)
		}
		t.Errorf("dead letter of %s on %s: %s", handler, typ, msg)
	}
}

// A merchant's cancel, refund, mark-paid, fulfil-with-tracking and note on
// Shopify orders go to Shopify first; the orders follow Shopify's answers,
// the webhooks the mutations cause add nothing contrary, and every order
// ends equal to Shopify's. Shopify's refusals reach the merchant with its
// reasons and change nothing.
func TestWriteBackEndToEnd(t *testing.T) {
	e := newInstallEnv(t)
	const shop = "write-back.myshopify.com"
	access, _ := e.install(t, shop)
	run := e.playOrders(t, shop, map[string]any{"scenario": "open", "seed": 41, "orders": 8})
	eventually(t, "the orders in the read model", func() bool {
		return e.count(t, `SELECT count(*) FROM orders_view WHERE shop = $1`, shop) == len(run.Expected.Orders)
	})
	e.sim.Do(t, http.MethodDelete, "/_sim/admin/calls", nil, nil)

	open := func(financial string, skip ...int64) testenv.ExpectedOrder {
		for _, o := range run.Expected.Orders {
			units := 0
			for _, l := range o.Lines {
				units += l.CurrentQuantity
			}
			if o.FinancialStatus == financial && o.FulfillmentStatus == nil && !o.Cancelled && units >= 2 && !slices.Contains(skip, o.ShopifyID) {
				return o
			}
		}
		t.Fatalf("the run has no open %s order left", financial)
		return testenv.ExpectedOrder{}
	}
	path := func(o testenv.ExpectedOrder) string {
		return "/api/v1/orders/" + domain.ShopifyOrderID(shop, o.ShopifyID).String()
	}
	events := func(o testenv.ExpectedOrder) int {
		return e.count(t, `SELECT count(*) FROM events WHERE stream_id = $1`, domain.OrderStream(domain.ShopifyOrderID(shop, o.ShopifyID)))
	}

	pending := open("pending")
	if code, got := e.call(t, access, "POST", path(pending)+"/pay", map[string]any{}); code != http.StatusOK || got["financial_status"] != "paid" {
		t.Fatalf("mark paid: %d %v", code, got)
	}

	shipped := open("paid")
	line := shipped.Lines[0]
	lineID := strconv.FormatInt(line.ID, 10)
	code, got := e.call(t, access, "POST", path(shipped)+"/fulfil", map[string]any{
		"lines":   []map[string]any{{"line_id": lineID, "quantity": 1}},
		"carrier": "DHL Express", "tracking_number": "JD014600006251", "tracking_url": "https://track.example.test/JD014600006251"})
	shipments, _ := got["shipments"].([]any)
	if code != http.StatusOK || len(shipments) != 1 {
		t.Fatalf("fulfil: %d %v", code, got)
	}
	if s := shipments[0].(map[string]any); s["tracking_company"] != "DHL Express" || !slices.Contains(s["tracking_numbers"].([]any), any("JD014600006251")) {
		t.Errorf("the shipment lost its tracking: %v", s)
	}

	var price float64
	for _, l := range got["lines"].([]any) {
		if l := l.(map[string]any); l["id"] == lineID {
			price = l["unit_price"].(float64)
		}
	}
	refund := map[string]any{"refund_id": "return-1", "amount": int64(price), "reason": "damaged in transit", "restock": true,
		"lines": []map[string]any{{"line_id": lineID, "quantity": 1}}}
	for range 2 { // a retry refunds nothing more
		if code, got := e.call(t, access, "POST", path(shipped)+"/refund", refund); code != http.StatusOK || got["refunded"] != price {
			t.Fatalf("refund: %d %v", code, got)
		}
	}
	e.quiet(t, shop)
	before := events(shipped)
	code, got = e.call(t, access, "POST", path(shipped)+"/refund", map[string]any{"amount": 1_000_000_000})
	if detail, _ := got["detail"].(string); code != http.StatusUnprocessableEntity || !strings.Contains(detail, "greater than the net payment received") || got["shopify_errors"] == nil {
		t.Errorf("refunding more than was paid: %d %v", code, got)
	}
	if n := events(shipped); n != before {
		t.Errorf("a refund Shopify refused appended %d events", n-before)
	}

	cancelled := open("paid", shipped.ShopifyID)
	if code, got := e.call(t, access, "POST", path(cancelled)+"/cancel", map[string]any{"reason": "customer", "refund": true}); code != http.StatusOK || got["status"] != "cancelled" || got["financial_status"] != "refunded" {
		t.Fatalf("cancel: %d %v", code, got)
	}
	e.quiet(t, shop)
	before = events(cancelled)
	code, got = e.call(t, access, "POST", path(cancelled)+"/cancel", map[string]any{"reason": "customer"})
	if detail, _ := got["detail"].(string); code != http.StatusUnprocessableEntity || !strings.Contains(detail, "already been cancelled") {
		t.Errorf("cancelling twice: %d %v", code, got)
	}
	if n := events(cancelled); n != before {
		t.Errorf("a cancel Shopify refused appended %d events", n-before)
	}

	note := "Leave at the back door"
	if code, got := e.call(t, access, "PATCH", path(pending), map[string]any{"note": note, "tags": []string{"vip", "gift"}}); code != http.StatusOK ||
		got["note"] != note || len(got["tags"].([]any)) != 2 {
		t.Fatalf("note and tags: %d %v", code, got)
	}

	var calls []string
	for _, c := range e.sim.AdminCalls(t) {
		for _, m := range []string{"orderMarkAsPaid", "fulfillmentCreate", "refundCreate", "orderCancel", "orderUpdate"} {
			if strings.Contains(c.Query, m+"(") && !slices.Contains(calls, m) {
				calls = append(calls, m)
			}
		}
	}
	if len(calls) != 5 {
		t.Errorf("mutations that reached Shopify: %v", calls)
	}
	e.converged(t, shop)
	if n := e.count(t, `SELECT count(*) FROM events WHERE stream_id = $1 AND metadata->>'source' = 'shopify-write-back'`,
		domain.OrderStream(domain.ShopifyOrderID(shop, shipped.ShopifyID))); n == 0 {
		t.Error("the fulfilled order has no event marked as Shopify's answer to a write-back")
	}
	for _, o := range e.sim.Orders(t, shop) {
		if o.ShopifyID == shipped.ShopifyID && o.Refunded != int64(price) {
			t.Errorf("Shopify refunded %d, want one unit (%v): the retry refunded again", o.Refunded, price)
		}
	}
}

// A stock change of an item Shopify keeps goes to Shopify first
// (inventoryAdjustQuantities with the request's idempotency key, so a retry
// changes it once); the item takes Shopify's new level, and the webhook
// that follows agrees. Shopify's refusal changes nothing.
func TestStockWriteBackEndToEnd(t *testing.T) {
	e := newInstallEnv(t)
	ctx := context.Background()
	const shop = "stock-write-back.myshopify.com"
	access, _ := e.install(t, shop)
	e.playOrders(t, shop, map[string]any{"scenario": "inventory", "seed": 5, "orders": 40})
	var key string
	var levels map[string]int
	eventually(t, "an item with Shopify's levels", func() bool {
		err := e.p.Pool.QueryRow(ctx, `SELECT key, shopify_levels FROM inventory_view WHERE shop = $1 AND shopify_levels <> '{}'
			ORDER BY key LIMIT 1`, shop).Scan(&key, &levels)
		return err == nil
	})
	stream := domain.InventoryStream(shop, key)
	// The row shows a level as soon as the item's first one is projected;
	// the figures to start from are those of every event on its stream.
	eventually(t, "the item's read model to reach its stream's last event", func() bool {
		return e.count(t, `SELECT count(*) FROM projection_streams WHERE projection = 'inventory' AND stream_id = $1
			AND version = (SELECT max(stream_version) FROM events WHERE stream_id = $1)`, stream) == 1
	})
	if err := e.p.Pool.QueryRow(ctx, `SELECT shopify_levels FROM inventory_view WHERE shop = $1 AND key = $2`, shop, key).Scan(&levels); err != nil {
		t.Fatal(err)
	}
	var loc string
	for l := range levels {
		loc = l
	}
	level := func() int {
		var n int
		if err := e.p.Pool.QueryRow(ctx, `SELECT (shopify_levels->>$3)::int FROM inventory_view WHERE shop = $1 AND key = $2`, shop, key, loc).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := level()
	adjust := func(body map[string]any, idempotencyKey string) (int, map[string]any) {
		return e.call(t, access, "POST", "/api/v1/inventory/"+key+"/adjust", body, "Idempotency-Key", idempotencyKey)
	}
	for range 2 {
		if code, got := adjust(map[string]any{"delta": 5, "reason": "received", "location_id": loc}, "delivery-0042"); code != http.StatusOK {
			t.Fatalf("adjust: %d %v", code, got)
		}
	}
	eventually(t, "the item to take Shopify's level", func() bool { return level() == before+5 })
	events := e.count(t, `SELECT count(*) FROM events WHERE stream_id = $1`, stream)
	code, got := adjust(map[string]any{"delta": 1, "reason": "received", "location_id": "1"}, "delivery-0043")
	if detail, _ := got["detail"].(string); code != http.StatusUnprocessableEntity || !strings.Contains(detail, "location could not be found") {
		t.Errorf("an unknown location: %d %v", code, got)
	}
	if n := e.count(t, `SELECT count(*) FROM events WHERE stream_id = $1`, stream); n != events {
		t.Errorf("a change Shopify refused appended %d events", n-events)
	}
	eventually(t, "the adjustment's webhook to be delivered", func() bool {
		ds := e.sim.MutationDeliveries(t, shop)
		return len(ds) == 1 && ds[0].Status == http.StatusOK
	})
	var lv struct{ Available int }
	if err := json.Unmarshal(e.sim.MutationDeliveries(t, shop)[0].Body, &lv); err != nil || lv.Available != before+5 {
		t.Errorf("Shopify's inventory_levels/update says %d, want %d (%v)", lv.Available, before+5, err)
	}
	if got := level(); got != before+5 {
		t.Errorf("after the webhook the level is %d, want %d", got, before+5)
	}
}
