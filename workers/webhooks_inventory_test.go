package workers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/shopify"
)

// Over real HTTP with the simulator as Shopify: a level of an item no
// products webhook named is mapped by asking the Admin API and lands on the
// row orders reserve; an item Shopify does not know stays held without a
// dead letter; and a Shopify order's reservations follow its edits and its
// stated fulfilment.
func TestShopifyStockMeetsOrdersEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const shop, secret, token = "stock.myshopify.com", "stock-secret", "shpat_stock"
	sim := testenv.StartSimulator(t)
	sim.Do(t, "POST", "/_sim/shops", map[string]string{"shop": shop, "access_token": token}, nil)
	cfg := testenv.Config(t)
	cfg.ShopifyAPIURL, cfg.ShopifyReconcileInterval = sim.URL, 0
	p, err := platform.Open(ctx, cfg, platform.NewLogger("warn"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.App().RegisterShop(ctx, shops.Registration{Domain: shop, Name: "Stock", Currency: "USD",
		WebhookSecrets: []string{secret}, AccessToken: token}, eventstore.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	go func() { _ = p.Run(ctx, []string{"relay", "projectors", "workers"}) }()
	post := func(topic string, body any) {
		t.Helper()
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		postWebhook(t, srv.URL, shop, secret, topic, raw)
	}
	type figures struct{ onHand, reserved int }
	stockShows := func(key string, want figures) {
		t.Helper()
		var got figures
		waitFor(t, fmt.Sprintf("%s to show %+v", key, want), func() bool {
			err := p.Pool.QueryRow(ctx, `SELECT on_hand, reserved FROM inventory_view WHERE shop = $1 AND key = $2`, shop, key).
				Scan(&got.onHand, &got.reserved)
			return err == nil && got == want
		})
	}
	level := func(item int64, available int) map[string]any {
		return map[string]any{"inventory_item_id": item, "location_id": 655441491, "available": available,
			"updated_at": "2026-03-01T10:00:00-05:00"}
	}

	// The simulator's Enamel Mug: inventory item 46120394000103, SKU MUG-350.
	post(shopify.TopicInventoryLevelsUpdate, level(46120394000103, 5))
	stockShows("MUG-350", figures{5, 0})
	post(shopify.TopicInventoryLevelsUpdate, level(46120394999999, 8)) // an item Shopify does not know
	waitFor(t, "the Admin API asked about both items", func() bool {
		lookups := slices.DeleteFunc(sim.AdminCalls(t), func(c testenv.AdminCall) bool {
			return !strings.Contains(c.Query, "InventoryItemVariant") || c.Status != 200
		})
		return len(lookups) == 2
	})
	var mapped, dead int
	if err := p.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM events WHERE stream_id = $1 AND event_type = 'inventory_item.mapped'),
		(SELECT count(*) FROM dead_letters)`, domain.InventoryItemStream(shop, 46120394999999)).Scan(&mapped, &dead); err != nil {
		t.Fatal(err)
	}
	if mapped != 0 || dead != 0 {
		t.Fatalf("an unknown item: %d mappings, %d dead letters; want none", mapped, dead)
	}

	// A Shopify order reserves its lines; an edit adds a unit of one, removes
	// another and adds a third, and the reservations follow.
	order := snapshotBody(t, 7400, 0, "paid", "")
	post(shopify.TopicOrdersCreate, order)
	stockShows("MUG-BLUE", figures{0, 2})
	stockShows("variant-4000000000000000002", figures{0, 3})
	edited := snapshotBody(t, 7400, 1, "paid", "")
	lines := edited["line_items"].([]any)
	mug, stickers := lines[0].(map[string]any), lines[1].(map[string]any)
	mug["quantity"], mug["current_quantity"] = 3, 3
	stickers["current_quantity"] = 0
	edited["line_items"] = append(lines, map[string]any{"id": 9000000000000000003, "variant_id": 44020394000103,
		"sku": "MUG-350", "title": "Enamel Mug 350ml", "quantity": 1, "current_quantity": 1, "price": "14.50"})
	post(shopify.TopicOrdersEdited, map[string]any{"order_edit": map[string]any{"id": 2, "order_id": 7400, "created_at": at(1),
		"line_items": map[string]any{"additions": []any{map[string]any{"id": 9000000000000000001, "delta": 1},
			map[string]any{"id": 9000000000000000003, "delta": 1}}, "removals": []any{map[string]any{"id": 9000000000000000002, "delta": 3}}}}})
	post(shopify.TopicOrdersUpdated, edited)
	stockShows("MUG-BLUE", figures{0, 3})
	stockShows("variant-4000000000000000002", figures{0, 0})
	stockShows("MUG-350", figures{5, 1})

	// Shopify states the order fulfilled without listing the shipment: the
	// units left, and Shopify's levels count them, so nothing stays reserved.
	edited["updated_at"], edited["fulfillment_status"] = at(2), "fulfilled"
	post(shopify.TopicOrdersFulfilled, edited)
	stockShows("MUG-BLUE", figures{0, 0})
	stockShows("MUG-350", figures{5, 0})
}
