package app_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv/webhooktest"
	"github.com/ordermill/ordermill/shopify"
)

// A batch of webhooks commits in one transaction; two snapshots of one order
// in it decide in turn, a malformed body fails alone, a redelivered batch
// changes nothing, and a batch holding an already processed webhook falls
// back to one webhook at a time without losing the others.
func TestWebhookBatches(t *testing.T) {
	ctx := context.Background()
	const shop = "batch.myshopify.com"
	rig := webhooktest.New(t, shop)
	store := rig.Store
	body := readFile(t, "../shopify/testdata/order.json")
	order := func(id, updatedAt string) string {
		return strings.NewReplacer("5000000000000000123", id, "2024-03-02T09:30:00-05:00", updatedAt).Replace(string(body))
	}
	count := func(where string) (n int) {
		t.Helper()
		if err := store.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE `+where).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	outcome := func(id string) string {
		t.Helper()
		events, err := store.ReadStream(ctx, domain.WebhookStream(shop, id), 1)
		if err != nil || len(events) != 2 {
			t.Fatalf("webhook %s: %d events, %v; want received and one outcome", id, len(events), err)
		}
		return events[1].Type
	}

	batch := []eventstore.Event{
		rig.Capture("a-create", "orders/create", order("7001", "2024-03-01T10:00:00-05:00")),
		rig.Capture("b-create", "orders/create", order("7002", "2024-03-01T10:00:00-05:00")),
		rig.Capture("a-update", "orders/updated", order("7001", "2024-03-02T09:30:00-05:00")),
		rig.Capture("broken", "orders/create", `{"id": `),
	}
	rig.Process(batch...)
	for id, want := range map[string]string{"a-create": "webhook.processed", "b-create": "webhook.processed",
		"a-update": "webhook.processed", "broken": "webhook.failed"} {
		if got := outcome(id); got != want {
			t.Errorf("webhook %s: outcome %s, want %s", id, got, want)
		}
	}
	if n := count(`event_type <> 'webhook.received'`); n < 6 {
		t.Fatalf("%d events appended, want at least the 4 outcomes and the orders'", n)
	}
	if n := count(`event_type <> 'webhook.received' AND transaction_id <> (SELECT transaction_id FROM events
		WHERE stream_id = '` + domain.WebhookStream(shop, "a-create") + `' AND stream_version = 2)`); n != 0 {
		t.Errorf("%d events committed apart from the batch's transaction", n)
	}
	o, _ := webhooktest.StoredOrder(t, store, domain.OrderStream(domain.ShopifyOrderID(shop, 7001)))
	if want := time.Date(2024, 3, 2, 14, 30, 0, 0, time.UTC); !o.Snapshot().ShopifyUpdatedAt.Equal(want) {
		t.Errorf("order 7001 is at the snapshot of %v, want the later one (%v)", o.Snapshot().ShopifyUpdatedAt, want)
	}

	before := count(`true`)
	rig.Process(batch...)
	if n := count(`true`); n != before {
		t.Errorf("a redelivered batch appended %d events", n-before)
	}

	// The processed a-create conflicts on its own stream, so the batch's
	// commit fails; c-create must be processed all the same.
	rig.Process(batch[0], rig.Capture("c-create", "orders/create", order("7003", "2024-03-01T10:00:00-05:00")))
	if got := outcome("c-create"); got != "webhook.processed" {
		t.Errorf("c-create: outcome %s", got)
	}
	if n := count(`stream_id = '` + domain.OrderStream(domain.ShopifyOrderID(shop, 7003)) + `'`); n == 0 {
		t.Error("order 7003 was not created")
	}
	if n := count(`true`) - before; n != 2+count(`stream_id = '`+domain.OrderStream(domain.ShopifyOrderID(shop, 7003))+`'`) {
		t.Errorf("the fallback appended %d events, want c-create's webhook and order events only", n)
	}
}

// readFile reads a fixture or fails.
func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Shopify's updated_at has whole seconds. A webhook's snapshot of the same
// second that changes only tags cannot be told from an older one and
// changes nothing; the same snapshot read from the Admin API (what
// reconciliation does) is Shopify's state now and wins, once.
func TestSameSecondSnapshotFromReconciliationWins(t *testing.T) {
	ctx := context.Background()
	const shop = "same-second.myshopify.com"
	rig := webhooktest.New(t, shop)
	body := string(readFile(t, "../shopify/testdata/order.json"))
	tagged := strings.Replace(body, `"tags": "vip, wholesale"`, `"tags": "vip, wholesale, gift"`, 1)
	stream := domain.OrderStream(domain.ShopifyOrderID(shop, 5000000000000000123))

	rig.Process(rig.Capture("create", "orders/create", body))
	_, placed := webhooktest.StoredOrder(t, rig.Store, stream)
	rig.Process(rig.Capture("retag", "orders/updated", tagged))
	if _, n := webhooktest.StoredOrder(t, rig.Store, stream); n != placed {
		t.Fatalf("a same-second webhook that only retags appended %d events", n-placed)
	}
	snap, err := shopify.DecodeOrder([]byte(tagged))
	if err != nil {
		t.Fatal(err)
	}
	reconcile := app.New(rig.Store)
	for run, want := range []int{placed + 1, placed + 1} {
		if _, err := reconcile.ApplyShopifyOrder(ctx, app.Caller{Shop: shop}, snap); err != nil {
			t.Fatal(err)
		}
		o, n := webhooktest.StoredOrder(t, rig.Store, stream)
		if n != want || !slices.Equal(o.Snapshot().Tags, []string{"vip", "wholesale", "gift"}) {
			t.Fatalf("reconciliation run %d: %d events, tags %v; want %d, [vip wholesale gift]", run+1, n, o.Snapshot().Tags, want)
		}
	}
}
