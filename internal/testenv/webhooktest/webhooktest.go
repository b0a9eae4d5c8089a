// Package webhooktest runs the webhook processor (app.Webhooks) on a
// database of its own, fed by hand, for the tests of what processing a
// webhook decides and of the workers that meet its outcome.
package webhooktest

import (
	"context"
	"testing"
	"time"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// Rig is the webhook processor without relay, shop registry or Admin API
// (so topics that need them are not fed to it).
type Rig struct {
	Ctx   context.Context
	Shop  string
	Store *eventstore.Store
	t     *testing.T
	batch func(context.Context, []eventstore.Event) []error
}

// New returns a rig for shop's webhooks on a fresh database.
func New(t *testing.T, shop string) *Rig {
	store := eventstore.New(testenv.Pool(t))
	return &Rig{Ctx: context.Background(), Shop: shop, Store: store, t: t,
		batch: app.NewWebhooks(store, nil, nil).ProcessBatch}
}

// Capture stores a webhook as the intake does, followed on its stream by
// more (a duplicate delivery, say), and returns the received event as the
// relay hands it over.
func (r *Rig) Capture(id, topic, body string, more ...domain.Event) eventstore.Event {
	r.t.Helper()
	events, err := eventstore.Encode(r.Shop, eventstore.Metadata{Source: "webhook"}, append([]domain.Event{domain.WebhookReceived{
		Shop: r.Shop, Topic: topic, WebhookID: id, Body: []byte(body), ReceivedAt: time.Now().UTC()}}, more...)...)
	if err != nil {
		r.t.Fatal(err)
	}
	res, err := r.Store.Append(r.Ctx, domain.WebhookStream(r.Shop, id), eventstore.NoStream, events...)
	if err != nil {
		r.t.Fatal(err)
	}
	return res.Events[0]
}

// Process hands batch to the processor in one call and fails on any error.
func (r *Rig) Process(batch ...eventstore.Event) {
	r.t.Helper()
	for i, err := range r.batch(r.Ctx, batch) {
		if err != nil {
			r.t.Fatalf("webhook %d: %v", i, err)
		}
	}
}

// StoredOrder is the order of stream as store holds it, and how many
// events it has (the version a next append expects).
func StoredOrder(t testing.TB, store *eventstore.Store, stream string) (*domain.Order, int) {
	t.Helper()
	events, err := store.ReadStream(context.Background(), stream, 1)
	if err != nil {
		t.Fatal(err)
	}
	history, err := eventstore.Decode(events)
	if err != nil {
		t.Fatal(err)
	}
	o, err := domain.NewOrderFromHistory(history)
	if err != nil {
		t.Fatal(err)
	}
	return o, len(events)
}
