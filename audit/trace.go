package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// Caused returns every event caused, directly or through other events, by
// the events roots, following metadata.causation_id, in commit order.
func (s *Log) Caused(ctx context.Context, roots []uuid.UUID) ([]eventstore.Event, error) {
	ids := make([]string, len(roots))
	for i, r := range roots {
		ids[i] = r.String()
	}
	// UNION (not UNION ALL) stops at events already found, so even a
	// malformed causation cycle ends.
	events, err := s.store.QueryEvents(ctx, `WITH RECURSIVE caused AS (
			SELECT global_position, event_id FROM events
			 WHERE metadata ? 'causation_id' AND metadata ->> 'causation_id' = ANY($1)
			UNION
			SELECT e.global_position, e.event_id FROM events e JOIN caused c
			    ON e.metadata ? 'causation_id' AND e.metadata ->> 'causation_id' = c.event_id::text
		)
		SELECT `+eventstore.EventColumns+` FROM events WHERE global_position IN (SELECT global_position FROM caused)
		ORDER BY events.transaction_id, events.global_position`, ids)
	if err != nil {
		return nil, fmt.Errorf("caused events: %w", err)
	}
	return events, nil
}

// SignatureCheck is the webhook's HMAC recomputed with a secret the auditor
// supplied, compared with the header Shopify sent.
type SignatureCheck struct {
	// Header and Computed are left out where signatures must not be shown (the API).
	Header   string `json:"header,omitempty"`
	Computed string `json:"computed,omitempty"`
	Valid    bool   `json:"valid"`
	// BodyErased means the body's key was destroyed (a redaction): there is
	// nothing left to check, which is not a failed check.
	BodyErased bool `json:"body_erased,omitempty"`
}

// OrderChange is an order's state before and after the events a webhook caused.
type OrderChange struct {
	OrderID uuid.UUID          `json:"order_id"`
	Before  *domain.OrderState `json:"before"` // nil: the webhook created the order
	After   domain.OrderState  `json:"after"`
	// Versions are the order's stream versions the webhook caused.
	Versions []int64 `json:"versions"`
}

// WebhookTrace is everything known about one stored webhook delivery.
type WebhookTrace struct {
	Stream    string                 `json:"stream"`
	Received  eventstore.Event       `json:"received"` // the stored webhook.received event
	Webhook   domain.WebhookReceived `json:"webhook"`  // its payload: headers and raw body
	Signature *SignatureCheck        `json:"signature,omitempty"`
	Outcomes  []eventstore.Event     `json:"outcomes"` // the rest of the webhook's stream
	Caused    []eventstore.Event     `json:"caused"`   // everything it caused, transitively
	Orders    []OrderChange          `json:"orders"`
}

// TraceWebhook assembles the trace of shop's webhook delivery webhookID. With
// a secret, the HMAC is recomputed over the stored raw body.
func (s *Log) TraceWebhook(ctx context.Context, shop, webhookID string, secret []byte) (WebhookTrace, error) {
	t := WebhookTrace{Stream: domain.WebhookStream(shop, webhookID)}
	events, err := s.store.ReadStream(ctx, t.Stream, 1)
	if err != nil {
		return t, err
	}
	t.Received, t.Outcomes = events[0], events[1:]
	if err := json.Unmarshal(t.Received.Data, &t.Webhook); err != nil {
		return t, fmt.Errorf("%s: decode %s: %w", t.Stream, t.Received.Type, err)
	}
	if secret != nil {
		t.Signature = checkSignature(t.Webhook, secret)
	}
	if t.Caused, err = s.Caused(ctx, []uuid.UUID{t.Received.ID}); err != nil {
		return t, err
	}
	t.Orders, err = s.orderChanges(ctx, t.Caused)
	return t, err
}

func checkSignature(wh domain.WebhookReceived, secret []byte) *SignatureCheck {
	c := &SignatureCheck{Header: wh.Signature()}
	if string(wh.Body) == eventstore.Erased {
		c.BodyErased = true
		return c
	}
	m := hmac.New(sha256.New, secret)
	m.Write(wh.Body)
	sum := m.Sum(nil)
	c.Computed = base64.StdEncoding.EncodeToString(sum)
	got, err := base64.StdEncoding.DecodeString(c.Header)
	c.Valid = err == nil && hmac.Equal(got, sum)
	return c
}

// orderChanges replays each order stream among caused to just before and
// just after the versions caused.
func (s *Log) orderChanges(ctx context.Context, caused []eventstore.Event) ([]OrderChange, error) {
	var (
		order    []string
		versions = map[string][]int64{}
	)
	for _, e := range caused {
		if eventstore.Category(e.StreamID) != "order" {
			continue
		}
		if _, seen := versions[e.StreamID]; !seen {
			order = append(order, e.StreamID)
		}
		versions[e.StreamID] = append(versions[e.StreamID], e.StreamVersion)
	}
	var out []OrderChange
	for _, stream := range order {
		id, err := uuid.Parse(strings.TrimPrefix(stream, "order-"))
		if err != nil {
			return nil, fmt.Errorf("order stream %q: %w", stream, err)
		}
		vs := versions[stream]
		first, last := vs[0], vs[len(vs)-1]
		history, err := s.store.ReadStream(ctx, stream, 1)
		if err != nil {
			return nil, err
		}
		c := OrderChange{OrderID: id, Versions: vs}
		if first > 1 {
			before, err := OrderState(history[:first-1])
			if err != nil {
				return nil, err
			}
			c.Before = &before
		}
		if c.After, err = OrderState(history[:last]); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
