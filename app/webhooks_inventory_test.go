package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv/webhooktest"
)

// Shopify's stock levels name inventory items; products/* webhooks map them
// to variants and SKUs, so levels land on the rows orders reserve. A level
// that arrives before its product is held and synced when the product comes.
// testdata/shopify_product.json is the IPod Nano product of Shopify's own
// library fixtures (Shopify/shopify-api-js, rest resources 2024-01, Product).
func TestInventoryLevelsLandOnTheVariantsStockKey(t *testing.T) {
	ctx := context.Background()
	const shop = "levels.myshopify.com"
	rig := webhooktest.New(t, shop)
	store := rig.Store
	product := readFile(t, "testdata/shopify_product.json")
	// The black variant has no SKU: its stock is keyed by variant, as its order lines are.
	productBody := strings.Replace(string(product), `"sku": "IPOD2008BLACK"`, `"sku": null`, 1)
	n := 0
	deliver := func(topic, body string) string {
		t.Helper()
		n++
		id := fmt.Sprintf("level-%d", n)
		rig.Process(rig.Capture(id, topic, body))
		outcome, err := store.ReadStream(ctx, domain.WebhookStream(shop, id), 2)
		if err != nil || len(outcome) != 1 || outcome[0].Type != "webhook.processed" {
			t.Fatalf("%s outcome: %v, %v", topic, outcome, err)
		}
		d, err := eventstore.DecodeEvent(outcome[0].Type, outcome[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		return d.(domain.WebhookProcessed).Result
	}
	level := func(item, location int64, available int, at string) string {
		return fmt.Sprintf(`{"inventory_item_id": %d, "location_id": %d, "available": %d, "updated_at": %q,
			"admin_graphql_api_id": "gid://shopify/InventoryLevel/%d?inventory_item_id=%d"}`, item, location, available, at, location, item)
	}
	stockOf := func(key string) domain.InventoryState {
		t.Helper()
		inv, err := domain.NewInventory(shop, key)
		if err != nil {
			t.Fatal(err)
		}
		history, err := store.ReadStream(ctx, domain.InventoryStream(shop, key), 1)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		events, err := eventstore.Decode(history)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			inv.Apply(e)
		}
		return inv.Snapshot()
	}
	const green, black, warehouse, store2 = 39072856, 457924702, 655441491, 905684977

	if got := deliver("inventory_levels/update", level(green, warehouse, 7, "2024-01-02T09:00:00-05:00")); got != "recorded" {
		t.Fatalf("level of an unknown item: %s, want recorded (held)", got)
	}
	if _, err := store.ReadStream(ctx, domain.InventoryStream(shop, "IPOD2008GREEN"), 1); err == nil {
		t.Fatal("a level of an unmapped item reached a stock row")
	}
	if got := deliver("products/update", productBody); got != "applied" {
		t.Fatalf("products/update: %s", got)
	}
	if s := stockOf("IPOD2008GREEN"); s.OnHand != 7 || s.ShopifyLevels[warehouse] != 7 {
		t.Fatalf("held level after mapping: %+v", s)
	}
	if got := deliver("products/update", productBody); got != "unchanged" {
		t.Fatalf("the same product again: %s", got)
	}
	deliver("inventory_levels/update", level(green, store2, 3, "2024-01-02T09:05:00-05:00"))
	if got := deliver("inventory_levels/update", level(green, warehouse, 99, "2024-01-02T08:00:00-05:00")); got != "unchanged" {
		t.Fatalf("an older level: %s", got)
	}
	if s := stockOf("IPOD2008GREEN"); s.OnHand != 10 || s.Available != 10 {
		t.Fatalf("two locations: %+v", s)
	}
	deliver("inventory_levels/update", level(black, warehouse, 4, "2024-01-02T09:00:00-05:00"))
	key, _ := domain.Line{VariantID: black}.InventoryKey()
	if s := stockOf(key); s.OnHand != 4 {
		t.Fatalf("%s (a variant without SKU): %+v", key, s)
	}
}
