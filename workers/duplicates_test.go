package workers_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/workers"
)

// TestDuplicateDeliveryDoesNotBlockProcessing: a duplicate delivery recorded
// on the webhook's stream before the processor got to the webhook (alone
// and in a batch) does not stop it: the outcome follows the duplicate.
func TestDuplicateDeliveryDoesNotBlockProcessing(t *testing.T) {
	ctx := context.Background()
	const shop = "dups.myshopify.com"
	store := eventstore.New(testenv.Pool(t))
	handle := workers.NewWebhooks(store, nil, nil).Handler().HandleBatch
	body, err := os.ReadFile("../shopify/testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	var batch []eventstore.Event
	for _, id := range []string{"dup-1", "dup-2"} {
		events, err := eventstore.Encode(shop, eventstore.Metadata{Source: "webhook"}, domain.WebhookReceived{
			Shop: shop, Topic: "orders/create", WebhookID: id, Body: body, ReceivedAt: time.Now().UTC()},
			domain.WebhookDuplicateReceived{ReceivedAt: time.Now().UTC()})
		if err != nil {
			t.Fatal(err)
		}
		res, err := store.Append(ctx, domain.WebhookStream(shop, id), eventstore.NoStream, events...)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, res.Events[0]) // the received event, as the relay hands it over
	}
	for _, b := range [][]eventstore.Event{batch[:1], batch[1:], batch} {
		for i, err := range handle(ctx, b) {
			if err != nil {
				t.Fatalf("webhook %d: %v", i, err)
			}
		}
	}
	for _, id := range []string{"dup-1", "dup-2"} {
		events, err := store.ReadStream(ctx, domain.WebhookStream(shop, id), 1)
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
