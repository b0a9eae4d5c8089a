package workers_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// webhookRig is the webhook processor on a database of its own, fed by hand:
// no relay, no shop registry, no Admin API (so topics that need them are not
// fed to it).
type webhookRig struct {
	t      *testing.T
	ctx    context.Context
	shop   string
	store  *eventstore.Store
	handle func(context.Context, []eventstore.Event) []error
}

func newWebhookRig(t *testing.T, shop string) *webhookRig {
	store := eventstore.New(testenv.Pool(t))
	return &webhookRig{t: t, ctx: context.Background(), shop: shop, store: store,
		handle: app.NewWebhooks(store, nil, nil).ProcessBatch}
}

// capture stores a webhook as the intake does, followed on its stream by
// more (a duplicate delivery, say), and returns the received event as the
// relay hands it over.
func (r *webhookRig) capture(id, topic, body string, more ...domain.Event) eventstore.Event {
	r.t.Helper()
	events, err := eventstore.Encode(r.shop, eventstore.Metadata{Source: "webhook"}, append([]domain.Event{domain.WebhookReceived{
		Shop: r.shop, Topic: topic, WebhookID: id, Body: []byte(body), ReceivedAt: time.Now().UTC()}}, more...)...)
	if err != nil {
		r.t.Fatal(err)
	}
	res, err := r.store.Append(r.ctx, domain.WebhookStream(r.shop, id), eventstore.NoStream, events...)
	if err != nil {
		r.t.Fatal(err)
	}
	return res.Events[0]
}

// process hands batch to the processor in one call and fails on any error.
func (r *webhookRig) process(batch ...eventstore.Event) {
	r.t.Helper()
	for i, err := range r.handle(r.ctx, batch) {
		if err != nil {
			r.t.Fatalf("webhook %d: %v", i, err)
		}
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
