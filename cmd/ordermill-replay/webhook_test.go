package main_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

func countEvents(t *testing.T, store *eventstore.Store) int {
	t.Helper()
	var n int
	if err := store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWebhookTraceAndRedeliver(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	store := eventstore.New(testenv.PoolFor(t, dbURL))
	const shop, secret = "demo.myshopify.com", "hush-hush"
	body, err := os.ReadFile("../../shopify/testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	signature := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	received, err := eventstore.Encode(shop, eventstore.Metadata{Source: "webhook"}, domain.WebhookReceived{
		Shop: shop, Topic: "orders/create", WebhookID: "wh-1", EventID: "ev-1", APIVersion: "2025-01",
		Headers: map[string]string{"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "wh-1"},
		HMAC:    signature, Body: body, ReceivedAt: time.Now().UTC(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(context.Background(), domain.WebhookStream(shop, "wh-1"), eventstore.NoStream, received...); err != nil {
		t.Fatal(err)
	}

	// A dry run before processing shows the order it would create, and writes nothing.
	n := countEvents(t, store)
	replay(t, dbURL, "redeliver", shop, "wh-1", "--dry-run").want(t, 0, "dry run: would be processed", "order.placed", "webhook.processed")
	if got := countEvents(t, store); got != n {
		t.Fatalf("dry run wrote %d events", got-n)
	}
	replay(t, dbURL, "redeliver", shop, "wh-1").want(t, 0, "processed (applied")
	processed := countEvents(t, store)
	if processed <= n {
		t.Fatal("redeliver appended nothing")
	}

	// Redelivering a processed webhook is a no-op; a dry run now finds nothing to change.
	replay(t, dbURL, "redeliver", shop, "wh-1").want(t, 0, "already processed earlier")
	r := replay(t, dbURL, "redeliver", shop, "wh-1", "--dry-run", "--json")
	r.want(t, 0)
	var dry struct {
		Outcome struct{ Result string }   `json:"outcome"`
		Appends []eventstore.StreamAppend `json:"appends"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &dry); err != nil {
		t.Fatal(err)
	}
	if dry.Outcome.Result != "unchanged" || len(dry.Appends) != 1 || dry.Appends[0].Stream != domain.WebhookStream(shop, "wh-1") {
		t.Fatalf("dry run of a processed webhook: %s", r.stdout)
	}
	if got := countEvents(t, store); got != processed {
		t.Fatalf("redelivering a processed webhook wrote %d events", got-processed)
	}
	replay(t, dbURL, "redeliver", shop, "wh-404").want(t, 2, "no stored webhook wh-404")

	// The trace: payload, signature (the auditor's tool reads the database
	// and shows it, unlike the API), what it caused, the order before and after.
	replay(t, dbURL, "webhook", shop, "wh-1", "--secret", secret).
		want(t, 0, "signature: VALID", "X-Shopify-Hmac-Sha256: "+signature, "orders/create", "order.placed", "webhook.processed",
			"(no order yet)", `"id": 5000000000000000123`)
	replay(t, dbURL, "webhook", shop, "wh-1", "--secret", "guess").want(t, 1, "signature: INVALID")
	r = replay(t, dbURL, "webhook", shop, "wh-1", "--json")
	r.want(t, 0)
	var trace audit.WebhookTrace
	if err := json.Unmarshal([]byte(r.stdout), &trace); err != nil {
		t.Fatal(err)
	}
	orderID := domain.ShopifyOrderID(shop, 5000000000000000123)
	if string(trace.Webhook.Body) != string(body) || trace.Signature != nil || len(trace.Orders) != 1 ||
		trace.Orders[0].OrderID != orderID || trace.Orders[0].Before != nil || trace.Orders[0].After.ShopifyID != 5000000000000000123 {
		t.Fatalf("trace: %+v", trace)
	}
	for _, e := range trace.Caused {
		if e.Metadata.CausationID != trace.Received.ID.String() {
			t.Fatalf("caused event %s v%d names cause %s", e.StreamID, e.StreamVersion, e.Metadata.CausationID)
		}
	}
}

func TestReplayThroughTheCLI(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	store := eventstore.New(testenv.PoolFor(t, dbURL))
	id, events := placeOrder(t, store)
	waitReadable(t, store, events[len(events)-1].Position)

	// Nothing has projected yet: the rebuilt table adds the order.
	replay(t, dbURL, "replay", "--projection", "orders").want(t, 0, "rebuilt from 2 events", "orders_view", "added", id.String())
	r := replay(t, dbURL, "replay", "--projection", "orders", "--swap", "--json")
	r.want(t, 0)
	var out []struct {
		Swapped bool `json:"swapped"`
		Diff    []struct {
			Table string `json:"table"`
			Added int64  `json:"added"`
		} `json:"diff"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || !out[0].Swapped || out[0].Diff[0].Added != 1 {
		t.Fatalf("replay --swap: %s", r.stdout)
	}
	var status string
	if err := store.Pool().QueryRow(context.Background(), `SELECT status FROM orders_view WHERE id = $1`, id).Scan(&status); err != nil || status != "paid" {
		t.Fatalf("live orders_view after swap: %q, %v", status, err)
	}
	replay(t, dbURL, "replay", "--projection", "all").want(t, 0, "orders: rebuilt", "inventory: rebuilt")
	replay(t, dbURL, "replay", "--projection", "nope").want(t, 2, `--projection "nope"`)
}
