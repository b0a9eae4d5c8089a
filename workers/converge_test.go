package workers_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/shopify"
)

// The orders that froze before Shopify's word won, over real HTTP, Postgres
// and Redis: each local change that contradicts Shopify (or a Shopify change
// local rules refused) ends in Shopify's state, with the override recorded.
func TestShopifyOrdersNeverFreeze(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const shop, secret = "converge.myshopify.com", "converge-secret"
	// The shop's Admin API is not reachable here: no reconciliation runs.
	cfg := testenv.Config(t)
	cfg.ShopifyReconcileInterval = 0
	p, err := platform.Open(ctx, cfg, platform.NewLogger("warn"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Shops.Add(ctx, shops.Registration{Domain: shop, Name: "Converge", Currency: "USD",
		WebhookSecrets: []string{secret}, AccessToken: "shpat_converge"}, eventstore.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	go func() { _ = p.Run(ctx, []string{"relay", "projectors", "workers"}) }()
	store := eventstore.New(p.Pool)

	seq := 0
	post := func(topic string, body map[string]any) {
		t.Helper()
		raw, _ := json.Marshal(body)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(raw)
		seq++
		req, _ := http.NewRequest("POST", srv.URL+"/webhooks/shopify", bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Shopify-Topic", topic)
		req.Header.Set("X-Shopify-Shop-Domain", shop)
		req.Header.Set("X-Shopify-Webhook-Id", fmt.Sprintf("w-%d-%d", time.Now().UnixNano(), seq))
		req.Header.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", topic, resp.StatusCode)
		}
	}
	type row struct {
		financial, fulfillment string
		cancelled              bool
		refunded, total        int64
		lines                  int
		fulfilledNew           int
	}
	read := func(id int64) (r row, ok bool) {
		err := p.Pool.QueryRow(ctx, `SELECT financial_status, fulfillment_status, cancelled_at IS NOT NULL, refunded, total,
				(SELECT count(*) FROM order_lines_view l WHERE l.order_id = o.id),
				coalesce((SELECT fulfilled_quantity FROM order_lines_view l WHERE l.order_id = o.id AND line_id = '9000000000000000003'), 0)
			FROM orders_view o WHERE shop = $1 AND shopify_id = $2`, shop, id).
			Scan(&r.financial, &r.fulfillment, &r.cancelled, &r.refunded, &r.total, &r.lines, &r.fulfilledNew)
		return r, err == nil
	}
	waitRow := func(id int64, want row) {
		t.Helper()
		var got row
		waitFor(t, fmt.Sprintf("order %d to show %+v", id, want), func() bool {
			var ok bool
			got, ok = read(id)
			return ok && got == want
		})
	}
	// local runs a local command on the order, as the API would.
	local := func(id int64, cmd func(o *domain.Order) ([]domain.Event, error)) {
		t.Helper()
		stream := domain.OrderStream(domain.ShopifyOrderID(shop, id))
		if _, err := app.Update(ctx, store, stream, domain.NewOrderFromHistory, cmd,
			app.By(shop, eventstore.Metadata{Actor: "test", Source: "api"})); err != nil {
			t.Fatal(err)
		}
	}
	overridden := func(id int64, field string) {
		t.Helper()
		waitFor(t, fmt.Sprintf("an override of %s on order %d", field, id), func() bool {
			var n int
			_ = p.Pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_id = $1 AND event_type = 'order.snapshot_applied'
				AND data -> 'overrides' @> jsonb_build_array(jsonb_build_object('field', $2::text))`,
				domain.OrderStream(domain.ShopifyOrderID(shop, id)), field).Scan(&n)
			return n > 0
		})
		var failed int
		if err := p.Pool.QueryRow(ctx, `SELECT count(*) FROM webhooks_view WHERE shop = $1 AND status = 'failed'`, shop).Scan(&failed); err != nil || failed > 0 {
			t.Fatalf("%d webhooks failed (%v); none may", failed, err)
		}
	}

	t.Run("local cancel, then Shopify fulfils", func(t *testing.T) {
		const id = 7100
		o := snapshotBody(t, id, 0, "paid", "")
		post(shopify.TopicOrdersCreate, o)
		waitRow(id, row{"paid", "unfulfilled", false, 0, 6497, 2, 0})
		local(id, func(o *domain.Order) ([]domain.Event, error) {
			return o.Cancel("customer", placedAt.Add(30*time.Second))
		})
		waitRow(id, row{"paid", "unfulfilled", true, 0, 6497, 2, 0})
		o = snapshotBody(t, id, 1, "paid", "fulfilled")
		o["fulfillments"] = []any{fulfillment(61, id, o, "9000000000000000001", 2, "9000000000000000002", 3)}
		post(shopify.TopicOrdersFulfilled, o)
		waitRow(id, row{"paid", "fulfilled", false, 0, 6497, 2, 0})
		overridden(id, "local_cancel")
	})
	t.Run("local refund, then Shopify refunds", func(t *testing.T) {
		const id = 7200
		post(shopify.TopicOrdersPaid, snapshotBody(t, id, 0, "paid", ""))
		waitRow(id, row{"paid", "unfulfilled", false, 0, 6497, 2, 0})
		local(id, func(o *domain.Order) ([]domain.Event, error) {
			return o.Refund("local-1", 6497, nil, placedAt.Add(30*time.Second))
		})
		waitRow(id, row{"refunded", "unfulfilled", false, 6497, 6497, 2, 0})
		refund := map[string]any{"id": 81, "order_id": id, "created_at": at(1), "note": "broken",
			"transactions":      []any{map[string]any{"amount": "64.97", "kind": "refund", "status": "success"}},
			"refund_line_items": []any{}}
		post(shopify.TopicRefundsCreate, refund)
		o := snapshotBody(t, id, 1, "refunded", "")
		o["refunds"], o["current_total_price"] = []any{refund}, "0.00"
		post(shopify.TopicOrdersUpdated, o)
		waitRow(id, row{"refunded", "unfulfilled", false, 6497, 0, 2, 0})
		overridden(id, "local_refund")
	})
	t.Run("Shopify edit adds a line, then fulfils it", func(t *testing.T) {
		const id = 7300
		post(shopify.TopicOrdersCreate, snapshotBody(t, id, 0, "paid", ""))
		waitRow(id, row{"paid", "unfulfilled", false, 0, 6497, 2, 0})
		edited := snapshotBody(t, id, 2, "partially_paid", "partial")
		items := edited["line_items"].([]any)
		edited["line_items"] = append(items, map[string]any{"id": 9000000000000000003, "variant_id": 4000000000000000003,
			"sku": "TEA", "title": "Tea", "quantity": 1, "current_quantity": 1, "price": "15.00"})
		edited["current_total_price"], edited["current_subtotal_price"], edited["total_outstanding"] = "79.97", "69.97", "15.00"
		f := fulfillment(62, id, edited, "9000000000000000003", 1)
		post(shopify.TopicOrdersEdited, map[string]any{"order_edit": map[string]any{"id": 1, "order_id": id, "created_at": at(1),
			"line_items": map[string]any{"additions": []any{map[string]any{"id": 9000000000000000003, "delta": 1}}, "removals": []any{}}}})
		post(shopify.TopicFulfillmentsCreate, f) // before the edited snapshot: it names a line not known yet
		edited["fulfillments"] = []any{f}
		post(shopify.TopicOrdersUpdated, edited)
		waitRow(id, row{"partially_paid", "partial", false, 0, 7997, 3, 1})
	})
	// Shopify's own sample payloads (see shopify/testdata/samples): order
	// 450789469, partially refunded with two of its three lines removed.
	t.Run("Shopify's sample payloads", func(t *testing.T) {
		const id = 450789469
		sample := func(name string) map[string]any {
			t.Helper()
			body, err := os.ReadFile("../shopify/testdata/samples/" + name)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			var v map[string]any
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		post(shopify.TopicOrdersUpdated, sample("orders_updated.json"))
		// Totals as Shopify states them: current 199.65 of 598.94, 209.00 refunded.
		waitRow(id, row{"partially_refunded", "unfulfilled", false, 20900, 19965, 3, 0})
		post(shopify.TopicRefundsCreate, sample("refunds_create_known.json")) // listed by the snapshot: nothing new
		post(shopify.TopicRefundsCreate, sample("refunds_create.json"))       // 41.94 more, after the snapshot
		// It lowers the current total as Shopify's current_total_price would.
		waitRow(id, row{"partially_refunded", "unfulfilled", false, 25094, 19965 - 4194, 3, 0})
		post(shopify.TopicFulfillmentsCreate, sample("fulfillments_create.json"))
		waitFor(t, "the sample fulfillment's tracking", func() bool {
			var n int
			_ = p.Pool.QueryRow(ctx, `SELECT count(*) FROM orders_view WHERE shop = $1 AND shopify_id = $2
				AND shipments @> '[{"id": "1069019884", "status": "success", "tracking_numbers": ["MS1562678"]}]'`, shop, id).Scan(&n)
			return n == 1
		})
		outcomes := func() string {
			rows, err := p.Pool.Query(ctx, `SELECT status || '/' || coalesce(result, '') FROM webhooks_view
				WHERE shop = $1 AND order_id = $2`, shop, domain.ShopifyOrderID(shop, id))
			if err != nil {
				t.Fatal(err)
			}
			results, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(results) // a batch may process them in any order
			return strings.Join(results, " ")
		}
		const want = "processed/applied processed/applied processed/applied processed/unchanged"
		waitFor(t, "the outcomes "+want, func() bool { return outcomes() == want })
	})
}

// placedAt is when the test orders were placed; local changes happen 30 s
// later, before Shopify's next snapshot.
var placedAt = time.Date(2026, 3, 1, 10, 0, 0, 0, time.FixedZone("EST", -5*3600))

// at is a Shopify timestamp minutes after the test orders were placed.
func at(minutes int) string {
	return placedAt.Add(time.Duration(minutes) * time.Minute).Format(time.RFC3339)
}

// snapshotBody is the adapter's test order as Shopify would send it for
// order id at minute updated, with the given statuses and no shipments or refunds.
func snapshotBody(t *testing.T, id int64, updated int, financial, fulfillment string) map[string]any {
	t.Helper()
	body, err := os.ReadFile("../shopify/testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(strings.ReplaceAll(string(body), "5000000000000000123", fmt.Sprint(id))))
	dec.UseNumber() // ids above 2^53 stay exact
	var o map[string]any
	if err := dec.Decode(&o); err != nil {
		t.Fatal(err)
	}
	o["created_at"], o["updated_at"], o["financial_status"] = at(0), at(updated), financial
	o["fulfillments"], o["refunds"] = []any{}, []any{}
	o["fulfillment_status"] = nil
	if fulfillment != "" {
		o["fulfillment_status"] = fulfillment
	}
	return o
}

// fulfillment is a successful fulfillment of order at the order's updated_at,
// of lines given as id, quantity pairs.
func fulfillment(id, orderID int64, order map[string]any, lines ...any) map[string]any {
	var items []any
	for i := 0; i < len(lines); i += 2 {
		items = append(items, map[string]any{"id": json.Number(lines[i].(string)), "quantity": lines[i+1]})
	}
	return map[string]any{"id": id, "order_id": orderID, "status": "success", "created_at": order["updated_at"],
		"updated_at": order["updated_at"], "tracking_company": "UPS", "tracking_numbers": []any{"1Z1"}, "line_items": items}
}
