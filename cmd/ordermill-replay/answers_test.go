package main_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// appendShopifyOrder stores a placed Shopify order of shop as an auditor
// would find it.
func appendShopifyOrder(t *testing.T, store *eventstore.Store, shop, name string, shopifyID int64, placedAt time.Time) uuid.UUID {
	t.Helper()
	id := domain.ShopifyOrderID(shop, shopifyID)
	events, err := domain.PlaceOrder(domain.PlaceOrderCommand{OrderID: id, Shop: shop, Name: name, ShopifyID: shopifyID,
		Source: domain.SourceShopify, Currency: "EUR", PlacedAt: placedAt, ShopifyUpdatedAt: placedAt,
		Subtotal: 1250, Total: 1250, Lines: []domain.PlacedLine{{ID: "1", SKU: "MUG", Title: "Mug", Quantity: 1, UnitPrice: 1250}}})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := eventstore.Encode(shop, eventstore.Metadata{Actor: "test"}, events...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(context.Background(), domain.OrderStream(id), eventstore.NoStream, enc...); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestOrdersByNumberAndTheirPast: an order is found by its name and its
// Shopify id as well as its id; a time before it existed is an answer, not
// a failure; money reads in the currency, with minor units in --json.
func TestOrdersByNumberAndTheirPast(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	store := eventstore.New(testenv.PoolFor(t, dbURL))
	before := time.Now().UTC().Add(-time.Minute)
	id := appendShopifyOrder(t, store, "demo.myshopify.com", "#1118", 5000000000000000777, time.Now().UTC())
	other := appendShopifyOrder(t, store, "other.myshopify.com", "#1118", 42, time.Now().UTC())

	for _, ref := range []string{id.String(), "5000000000000000777"} {
		replay(t, dbURL, "history", "order", ref).want(t, 0, domain.OrderStream(id)+": 1 events", "order.placed")
	}
	// The name is in two shops: the tool says so and how to choose.
	replay(t, dbURL, "history", "order", "#1118").want(t, 2, "2 orders match", "--shop", id.String(), other.String())
	replay(t, dbURL, "history", "order", "#1118", "--shop", "demo.myshopify.com").want(t, 0, domain.OrderStream(id))
	replay(t, dbURL, "history", "order", "#9999").want(t, 2, `no order with id, Shopify id or name "#9999"`)

	replay(t, dbURL, "state", "order", "5000000000000000777").
		want(t, 0, "#1118", "12.50 EUR", "0.00 EUR")
	replay(t, dbURL, "state", "order", "#1118", "--shop", "demo.myshopify.com", "--at", before.Format(time.RFC3339Nano)).
		want(t, 0, "did not exist yet at", "first event was recorded at")

	r := replay(t, dbURL, "state", "order", "5000000000000000777", "--json")
	r.want(t, 0)
	var out struct {
		Existed bool                  `json:"existed"`
		State   struct{ Total int64 } `json:"state"`
		Money   map[string]string     `json:"money"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if !out.Existed || out.State.Total != 1250 || out.Money["total"] != "12.50 EUR" {
		t.Errorf("state --json: %s", r.stdout)
	}
	r = replay(t, dbURL, "state", "order", id.String(), "--at", before.Format(time.RFC3339Nano), "--json")
	r.want(t, 0, `"existed": false`, `"first_recorded_at"`)
}

// TestVerifyProgressAndGuidance: progress is done/total with a percentage
// and the time left, and a store with no signed checkpoint says how to sign one.
func TestVerifyProgressAndGuidance(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	store := eventstore.New(testenv.PoolFor(t, dbURL))
	placeOrder(t, store)
	placeOrder(t, store)
	r := replay(t, dbURL, "verify", "--progress")
	r.want(t, 0, "checkpoint keygen --out", "checkpoint sign --key", "verify --pubkey")
	if !strings.Contains(r.stderr, "4/4 events (100%)") || !strings.Contains(r.stderr, "0s left") {
		t.Errorf("progress: %q", r.stderr)
	}
	r = replay(t, dbURL, "export", "--progress", "--shop", "demo.myshopify.com")
	r.want(t, 0)
	if !strings.Contains(r.stderr, "4/4 events (100%)") {
		t.Errorf("export progress: %q", r.stderr)
	}
}

// TestWebhookTraceTellsTheWholeOutcome: a delivery found by the log's id
// alone; the text trace says what processing made of it and, for a
// snapshot that changed nothing, which newer snapshot the order held and
// which delivery brought it.
func TestWebhookTraceTellsTheWholeOutcome(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	store := eventstore.New(testenv.PoolFor(t, dbURL))
	const shop = "demo.myshopify.com"
	body, err := os.ReadFile("../../shopify/testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	var logIDs []string
	for _, wh := range []string{"wh-1", "wh-2"} {
		received, err := eventstore.Encode(shop, eventstore.Metadata{Source: "webhook"}, domain.WebhookReceived{
			Shop: shop, Topic: "orders/updated", WebhookID: wh, EventID: "ev-" + wh, APIVersion: "2025-01",
			Headers: map[string]string{"X-Shopify-Topic": "orders/updated", "X-Shopify-Webhook-Id": wh},
			Body:    body, ReceivedAt: time.Now().UTC(),
		})
		if err != nil {
			t.Fatal(err)
		}
		res, err := store.Append(context.Background(), domain.WebhookStream(shop, wh), eventstore.NoStream, received...)
		if err != nil {
			t.Fatal(err)
		}
		logIDs = append(logIDs, res.Events[0].ID.String())
		replay(t, dbURL, "redeliver", shop, wh).want(t, 0, "processed")
	}
	replay(t, dbURL, "webhook", logIDs[0]).want(t, 0, "webhook wh-1 of "+shop, "duplicate deliveries: none", "outcome:",
		"webhook.processed at", "applied")
	// Shopify sends wh-1 again: the stream records it, and the trace counts it.
	dup, err := eventstore.Encode(shop, eventstore.Metadata{Source: "webhook"},
		domain.WebhookDuplicateReceived{ReceivedAt: time.Now().UTC(), TriggeredAt: "2025-01-01T00:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(context.Background(), domain.WebhookStream(shop, "wh-1"), eventstore.AnyVersion, dup...); err != nil {
		t.Fatal(err)
	}
	replay(t, dbURL, "webhook", shop, "wh-1").want(t, 0, "duplicate deliveries: 1, at ",
		"another delivery of the same webhook, answered 200 and not processed again (Shopify triggered it at 2025-01-01T00:00:00Z)")
	replay(t, dbURL, "webhook", logIDs[1]).want(t, 0, "webhook wh-2 of "+shop,
		"unchanged — repeats or predates known state; the order already held Shopify's snapshot of",
		"from webhook wh-1 of "+shop)
	replay(t, dbURL, "webhook", uuid.NewString()).want(t, 2, "no stored webhook has the id")
	replay(t, dbURL, "webhook", "not-an-id").want(t, 2, "neither the log's id")
}
