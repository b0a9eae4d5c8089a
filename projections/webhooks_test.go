package projections

import (
	"testing"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// webhookViewRow is what the log shows of one webhook.
type webhookViewRow struct {
	WebhookID string `json:"webhook_id"`
	Topic     string `json:"topic"`
	Status    string `json:"status"`
	Result    string `json:"result"`
	Error     string `json:"error"`
	OrderID   string `json:"order_id"`
	Processed bool   `json:"processed"`
}

func TestWebhooksLog(t *testing.T) {
	f := newFixture(t)
	p := NewWebhooks()
	orderID := uuid.New().String()
	received := func(id, topic string) domain.WebhookReceived {
		return domain.WebhookReceived{Shop: shop, Topic: topic, WebhookID: id, EventID: "ev-" + id, ReceivedAt: t0}
	}
	cases := []struct {
		id     string
		events []domain.Event
		want   webhookViewRow
	}{
		{"w-processed", []domain.Event{received("w-processed", "orders/create"),
			domain.WebhookProcessed{Result: "order placed", OrderID: orderID}},
			webhookViewRow{Status: "processed", Result: "order placed", OrderID: orderID, Processed: true}},
		{"w-failed", []domain.Event{received("w-failed", "orders/updated"),
			domain.WebhookDuplicateReceived{ReceivedAt: t0}, domain.WebhookFailed{Reason: "no line items"}},
			webhookViewRow{Status: "failed", Error: "no line items", Processed: true}},
		{"w-compliance", []domain.Event{received("w-compliance", "customers/redact"),
			domain.WebhookComplianceRecorded{Topic: "customers/redact", Shop: shop, CustomerID: 7},
			domain.WebhookProcessed{Result: "redaction recorded"}},
			webhookViewRow{Status: "processed", Result: "redaction recorded", Processed: true}},
		{"w-waiting", []domain.Event{received("w-waiting", "orders/paid")},
			webhookViewRow{Status: "received"}},
	}
	var all []eventstore.Event
	for _, c := range cases {
		events := f.appendEvents(t, domain.WebhookStream(shop, c.id), c.events...)
		// Event by event: a status event updates the row its received event inserted.
		for _, e := range events {
			f.applyOnce(t, p, e, Applied)
		}
		all = append(all, events...)
		got, ok := row[webhookViewRow](t, f, `SELECT to_jsonb(w) FROM (SELECT webhook_id, topic, status, result, error,
			coalesce(order_id::text, '') AS order_id, processed_at IS NOT NULL AS processed FROM webhooks_view WHERE stream_id = $1) w`, domain.WebhookStream(shop, c.id))
		want := c.want
		want.WebhookID, want.Topic = c.id, c.events[0].(domain.WebhookReceived).Topic
		if !ok || got != want {
			t.Errorf("%s: webhooks_view %+v (found %v), want %+v", c.id, got, ok, want)
		}
	}

	live := f.dump(t, p)
	for _, e := range all {
		f.applyOnce(t, p, e, Skipped)
	}
	f.requireDump(t, p, live, "redelivering every event")
	// A rebuild in one batch folds each webhook's events into the row it
	// inserts; in batches of two, a later batch updates what an earlier one
	// inserted. Both give the rows applied event by event.
	for _, batch := range []int{2, 5000} {
		if _, err := rebuild(f.ctx, f.store, p, batch, nil); err != nil {
			t.Fatalf("rebuild in batches of %d: %v", batch, err)
		}
		f.requireDump(t, p, live, "rebuilding")
	}
}
