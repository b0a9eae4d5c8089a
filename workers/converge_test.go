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
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
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
	p, srv := openWithShop(ctx, t, cfg, shop, secret)
	go func() { _ = p.Run(ctx, []string{"relay", "projectors", "workers"}) }()
	store := eventstore.New(p.Pool)

	send := func(shop, secret, topic string, raw []byte) string {
		t.Helper()
		return postWebhook(t, srv.URL, shop, secret, topic, raw)
	}
	post := func(topic string, body map[string]any) {
		t.Helper()
		raw, _ := json.Marshal(body)
		send(shop, secret, topic, raw)
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
			return o.Refund("local-1", 6497, nil, placedAt.Add(30*time.Second), "")
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
	// A refund whose snapshot never arrives (dropped, or failed) is all the
	// order hears of it: its current figures must already be Shopify's.
	t.Run("a refund ahead of its snapshot lowers every current figure", func(t *testing.T) {
		const id = 7400
		o := snapshotBody(t, id, 0, "paid", "")
		o["total_tax"], o["current_total_tax"] = "2.00", "2.00"
		post(shopify.TopicOrdersCreate, o)
		waitRow(id, row{"paid", "unfulfilled", false, 0, 6497, 2, 0})
		post(shopify.TopicRefundsCreate, map[string]any{"id": 82, "order_id": id, "created_at": at(1),
			"transactions": []any{map[string]any{"amount": "20.99", "kind": "refund", "status": "success"}},
			"refund_line_items": []any{map[string]any{"line_item_id": json.Number("9000000000000000001"), "quantity": 1,
				"restock_type": "return", "subtotal": 19.99, "subtotal_set": map[string]any{"shop_money": map[string]any{"amount": "19.99"}},
				"total_tax": 1.0, "total_tax_set": map[string]any{"shop_money": map[string]any{"amount": "1.00"}}}}})
		// current_total_price, current_subtotal_price and current_total_tax
		// as Shopify's next snapshot will state them.
		const want = "4398 3498 100"
		var got string
		waitFor(t, "order 7400's total, subtotal and tax to be "+want, func() bool {
			_ = p.Pool.QueryRow(ctx, `SELECT concat_ws(' ', total, subtotal, totals->>'tax') FROM orders_view
				WHERE shop = $1 AND shopify_id = $2`, shop, id).Scan(&got)
			return got == want
		})
	})
	// Shopify's own sample payloads (see shopify/testdata/samples): order
	// 450789469, partially refunded with two of its three lines removed.
	t.Run("Shopify's sample payloads", func(t *testing.T) {
		const id = 450789469
		send(shop, secret, shopify.TopicOrdersUpdated, sampleBody(t, "orders_updated.json"))
		// Totals as Shopify states them: current 199.65 of 598.94, 209.00 refunded.
		waitRow(id, row{"partially_refunded", "unfulfilled", false, 20900, 19965, 3, 0})
		send(shop, secret, shopify.TopicRefundsCreate, sampleBody(t, "refunds_create_known.json")) // listed by the snapshot: nothing new
		send(shop, secret, shopify.TopicRefundsCreate, sampleBody(t, "refunds_create.json"))       // 41.94 more, after the snapshot
		// It lowers the current total as Shopify's current_total_price would.
		waitRow(id, row{"partially_refunded", "unfulfilled", false, 25094, 19965 - 4194, 3, 0})
		send(shop, secret, shopify.TopicFulfillmentsCreate, sampleBody(t, "fulfillments_create.json"))
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

	// Every other topic's sample, over the same path: each one's effect.
	t.Run("Shopify's sample payloads of every topic", func(t *testing.T) {
		outcome := func(shop, webhookID string) (result string, order uuid.UUID) {
			var o *uuid.UUID
			_ = p.Pool.QueryRow(ctx, `SELECT status || '/' || result, order_id FROM webhooks_view WHERE shop = $1 AND webhook_id = $2`,
				shop, webhookID).Scan(&result, &o)
			if o != nil {
				order = *o
			}
			return result, order
		}
		processed := func(shop, webhookID, want string) {
			t.Helper()
			waitFor(t, webhookID+" to be "+want, func() bool { r, _ := outcome(shop, webhookID); return r == want })
		}
		holds := func(what, query string, args ...any) {
			t.Helper()
			waitFor(t, what, func() bool {
				var ok bool
				_ = p.Pool.QueryRow(ctx, query, args...).Scan(&ok)
				return ok
			})
		}
		lineShipped := func(order int64, line string, want int) {
			t.Helper()
			holds(fmt.Sprintf("line %s of order %d to have shipped %d", line, order, want), `SELECT l.fulfilled_quantity = $4
				FROM order_lines_view l JOIN orders_view o ON o.id = l.order_id WHERE o.shop = $1 AND o.shopify_id = $2 AND l.line_id = $3`,
				shop, order, line, want)
		}
		// hasEvent waits for an event of the type on the stream whose data
		// holds want at dataPath, or any such event when dataPath is empty.
		hasEvent := func(what, stream, eventType, dataPath, want string) {
			t.Helper()
			holds(what, `SELECT count(*) > 0 FROM events WHERE stream_id = $1 AND event_type = $2
				AND ($3 = '' OR data #>> string_to_array($3, '.') = $4)`, stream, eventType, dataPath, want)
		}

		// A pending order is placed, another paid and then cancelled.
		send(shop, secret, shopify.TopicOrdersCreate, sampleBody(t, "orders_create.json"))
		waitRow(1073459974, row{"pending", "unfulfilled", false, 0, 19900, 1, 0})
		send(shop, secret, shopify.TopicOrdersPaid, sampleBody(t, "orders_paid.json"))
		waitRow(1073459984, row{"paid", "unfulfilled", false, 0, 19900, 1, 0})
		send(shop, secret, shopify.TopicOrdersCancelled, sampleBody(t, "orders_cancelled.json"))
		waitRow(1073459984, row{"paid", "unfulfilled", true, 0, 19900, 1, 0})
		holds("the cancel reason", `SELECT cancel_reason = 'customer' AND status = 'cancelled' FROM orders_view WHERE shop = $1 AND shopify_id = 1073459984`, shop)

		// Stated fulfilments, without fulfillments listed: the statuses win.
		send(shop, secret, shopify.TopicOrdersFulfilled, sampleBody(t, "orders_fulfilled.json"))
		waitRow(1073459964, row{"paid", "fulfilled", false, 0, 19900, 1, 0})
		lineShipped(1073459964, "1071823194", 1)
		send(shop, secret, shopify.TopicOrdersPartiallyFulfilled, sampleBody(t, "orders_partially_fulfilled.json"))
		waitRow(1073459962, row{"paid", "partial", false, 0, 27037, 3, 0})
		lineShipped(1073459962, "1071823190", 1)
		lineShipped(1073459962, "1071823192", 0)

		// The edit waits for its snapshot; tracking lands on the shipment.
		send(shop, secret, shopify.TopicOrdersUpdated, sampleBody(t, "orders_updated.json"))
		edit := send(shop, secret, shopify.TopicOrdersEdited, sampleBody(t, "orders_edited.json"))
		processed(shop, edit, "processed/deferred")
		if _, order := outcome(shop, edit); order != domain.ShopifyOrderID(shop, 450789469) {
			t.Errorf("the edit names order %s, want order 450789469's", order)
		}
		send(shop, secret, shopify.TopicFulfillmentsUpdate, sampleBody(t, "fulfillments_update.json"))
		holds("the tracking of fulfillment 1069019869", `SELECT count(*) = 1 FROM orders_view WHERE shop = $1 AND shopify_id = 450789469
			AND shipments @> '[{"id": "1069019869", "status": "success", "tracking_company": "UPS", "tracking_numbers": ["1Z001985YW99744790"]}]'`, shop)

		// A deleted order is hidden, its history kept.
		send(shop, secret, shopify.TopicOrdersDelete, sampleBody(t, "orders_delete.json"))
		holds("order 1073459974 deleted", `SELECT deleted FROM orders_view WHERE shop = $1 AND shopify_id = 1073459974`, shop)
		// A deletion that overtakes its order waits for it: the order arrives deleted.
		early := func(name string) []byte {
			return []byte(strings.ReplaceAll(string(sampleBody(t, name)), "1073459974", "1073459975"))
		}
		processed(shop, send(shop, secret, shopify.TopicOrdersDelete, early("orders_delete.json")), "processed/deferred")
		processed(shop, send(shop, secret, shopify.TopicOrdersCreate, early("orders_create.json")), "processed/applied")
		holds("order 1073459975 placed deleted", `SELECT deleted FROM orders_view WHERE shop = $1 AND shopify_id = 1073459975`, shop)

		// Products map inventory items to stock keys, where levels then land.
		send(shop, secret, shopify.TopicProductsCreate, sampleBody(t, "products_create.json"))
		hasEvent("inventory item 1070325019 mapped", domain.InventoryItemStream(shop, 1070325019), "inventory_item.mapped", "key", "variant-1070325019")
		send(shop, secret, shopify.TopicProductsUpdate, sampleBody(t, "products_update.json"))
		send(shop, secret, shopify.TopicInventoryLevelsUpdate, sampleBody(t, "inventory_levels_update.json"))
		holds("42 of IPOD2008PINK available", `SELECT available = 42 FROM inventory_view WHERE shop = $1 AND key = 'IPOD2008PINK'`, shop)

		// app/uninstalled names the shop that signs it, here Shopify's sample shop.
		const sampleShop, sampleSecret = "jsmith.myshopify.com", "jsmith-secret"
		if _, err := p.App().RegisterShop(ctx, shops.Registration{Domain: sampleShop, Name: "John Smith Test Store", Currency: "USD", ShopifyID: 548380009,
			WebhookSecrets: []string{sampleSecret}, AccessToken: "shpat_jsmith"}, eventstore.Metadata{Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		processed(sampleShop, send(sampleShop, sampleSecret, shopify.TopicAppUninstalled, sampleBody(t, "app_uninstalled.json")), "processed/applied")
		hasEvent("the sample shop uninstalled", domain.ShopStream(sampleShop), "shop.uninstalled", "", "")

		// The privacy topics, for the shop the template's payloads name.
		const privacyShop, privacySecret = "privacy-sample.myshopify.com", "privacy-secret"
		if _, err := p.App().RegisterShop(ctx, shops.Registration{Domain: privacyShop, Name: "Privacy", Currency: "USD", ShopifyID: 954889,
			WebhookSecrets: []string{privacySecret}, AccessToken: "shpat_privacy"}, eventstore.Metadata{Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		privacy := func(topic, name string) string {
			body := strings.ReplaceAll(string(sampleBody(t, name)), "{shop}", strings.TrimSuffix(privacyShop, ".myshopify.com"))
			id := send(privacyShop, privacySecret, topic, []byte(body))
			processed(privacyShop, id, "processed/recorded")
			return id
		}
		privacy(shopify.TopicCustomersDataRequest, "customers_data_request.json")
		privacy(shopify.TopicCustomersRedact, "customers_redact.json")
		hasEvent("customer 191167 redacted", domain.RedactionStream(privacyShop), "customer.redacted", "customer_id", "191167")
		privacy(shopify.TopicShopRedact, "shop_redact.json")
		hasEvent("the shop redacted", domain.RedactionStream(privacyShop), "shop.redacted", "shop", privacyShop)
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

// sampleBody is one of Shopify's sample payloads (shopify/testdata/samples), byte for byte.
func sampleBody(t *testing.T, name string) []byte {
	t.Helper()
	body, err := os.ReadFile("../shopify/testdata/samples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

var webhookSeq atomic.Int64

// postWebhook signs raw as Shopify would for the shop, posts it to the
// platform at url and returns the webhook id.
func postWebhook(t *testing.T, url, shop, secret, topic string, raw []byte) string {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(raw)
	id := fmt.Sprintf("w-%d-%d", time.Now().UnixNano(), webhookSeq.Add(1))
	req, _ := http.NewRequest("POST", url+"/webhooks/shopify", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Topic", topic)
	req.Header.Set("X-Shopify-Shop-Domain", shop)
	req.Header.Set("X-Shopify-Webhook-Id", id)
	req.Header.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d", topic, resp.StatusCode)
	}
	return id
}
