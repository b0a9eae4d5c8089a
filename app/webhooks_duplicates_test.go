package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv/webhooktest"
)

// TestDuplicateDeliveryDoesNotBlockProcessing: a duplicate delivery recorded
// on the webhook's stream before the processor got to the webhook (alone
// and in a batch) does not stop it: the outcome follows the duplicate.
func TestDuplicateDeliveryDoesNotBlockProcessing(t *testing.T) {
	ctx := context.Background()
	const shop = "dups.myshopify.com"
	rig := webhooktest.New(t, shop)
	body := string(readFile(t, "../shopify/testdata/order.json"))
	var batch []eventstore.Event
	for _, id := range []string{"dup-1", "dup-2"} {
		batch = append(batch, rig.Capture(id, "orders/create", body, domain.WebhookDuplicateReceived{ReceivedAt: time.Now().UTC()}))
	}
	for _, b := range [][]eventstore.Event{batch[:1], batch[1:], batch} {
		rig.Process(b...)
	}
	for _, id := range []string{"dup-1", "dup-2"} {
		events, err := rig.Store.ReadStream(ctx, domain.WebhookStream(shop, id), 1)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range events {
			types = append(types, e.Type)
		}
		if len(types) != 3 || types[1] != "webhook.duplicate_received" || types[2] != "webhook.processed" {
			t.Errorf("%s: %v, want received, duplicate, processed once", id, types)
		}
	}
}
