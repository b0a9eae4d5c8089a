package privacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/shopify"
)

// Request is a compliance webhook of a shop as the merchant sees it.
type Request struct {
	ID         uuid.UUID `json:"id"` // the webhook.compliance_recorded event
	Topic      string    `json:"topic"`
	CustomerID int64     `json:"customer_id,omitempty"`
	Orders     []int64   `json:"orders,omitempty"` // Shopify order ids the request names
	ReceivedAt time.Time `json:"received_at"`
	// Status: "export_ready" for a data request, "erased" or "pending" for a redaction.
	Status string `json:"status"`
}

// ErrNoRequest means the shop has no data request with that id.
var ErrNoRequest = errors.New("no such data request")

// Requests lists shop's compliance requests, newest first.
func Requests(ctx context.Context, store *eventstore.Store, shop string) ([]Request, error) {
	rows, err := store.Pool().Query(ctx, `SELECT c.event_id, c.data, c.recorded_at,
			EXISTS (SELECT 1 FROM events r WHERE r.event_type IN ('customer.redacted', 'shop.redacted')
			         AND r.metadata ->> 'causation_id' = c.event_id::text)
		FROM events c WHERE c.tenant_id = $1 AND c.event_type = 'webhook.compliance_recorded'
		ORDER BY c.recorded_at DESC, c.global_position DESC`, shop)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Request, error) {
		var (
			r      Request
			data   []byte
			erased bool
			rec    domain.WebhookComplianceRecorded
		)
		if err := row.Scan(&r.ID, &data, &r.ReceivedAt, &erased); err != nil {
			return r, err
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			return r, err
		}
		r.Topic, r.CustomerID, r.Orders = rec.Topic, rec.CustomerID, rec.OrdersAffected
		switch {
		case rec.Topic == shopify.TopicCustomersDataRequest:
			r.Status = "export_ready"
		case erased:
			r.Status = "erased"
		default:
			r.Status = "pending"
		}
		return r, nil
	})
}

// Export is what Ordermill holds about one customer, decrypted, answering
// a customers/data_request. Fields of an erased customer read "[erased]".
type Export struct {
	Shop        string              `json:"shop"`
	CustomerID  int64               `json:"customer_id"`
	RequestID   uuid.UUID           `json:"request_id"`
	GeneratedAt time.Time           `json:"generated_at"`
	Orders      []domain.OrderState `json:"orders"`
	Emails      []ExportedEmail     `json:"emails"`
}

// ExportedEmail is one email Ordermill sent (or failed to send) the customer.
type ExportedEmail struct {
	Type    string    `json:"type"` // email.sent or email.failed
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	At      time.Time `json:"at"`
}

// BuildExport assembles the export for shop's data request requestID: the
// customer's orders (those placed under the customer's Shopify id and those
// the request names) with their state, and the emails they caused.
func BuildExport(ctx context.Context, store *eventstore.Store, shop string, requestID uuid.UUID) (Export, error) {
	var data []byte
	err := store.Pool().QueryRow(ctx, `SELECT data FROM events WHERE event_id = $1 AND tenant_id = $2
		AND event_type = 'webhook.compliance_recorded' AND data ->> 'topic' = 'customers/data_request'`,
		requestID, shop).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return Export{}, ErrNoRequest
	}
	if err != nil {
		return Export{}, err
	}
	var rec domain.WebhookComplianceRecorded
	if err := json.Unmarshal(data, &rec); err != nil {
		return Export{}, err
	}
	out := Export{Shop: shop, CustomerID: rec.CustomerID, RequestID: requestID, GeneratedAt: time.Now().UTC(),
		Orders: []domain.OrderState{}, Emails: []ExportedEmail{}}
	orders, _, err := customerOrders(ctx, store.Pool(), shop, rec.CustomerID)
	if err != nil {
		return Export{}, err
	}
	var placed []uuid.UUID // the orders' order.placed events, which cause emails
	for _, id := range rec.OrdersAffected {
		if o := domain.ShopifyOrderID(shop, id); !slices.Contains(orders, o) {
			orders = append(orders, o)
		}
	}
	for _, id := range orders {
		events, err := store.ReadStream(ctx, domain.OrderStream(id), 1)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			continue // named by Shopify, never received here
		}
		if err != nil {
			return Export{}, err
		}
		state, err := audit.OrderState(events)
		if err != nil {
			return Export{}, fmt.Errorf("order %s: %w", id, err)
		}
		if state.Shop != shop {
			continue
		}
		out.Orders = append(out.Orders, state)
		placed = append(placed, events[0].ID)
	}
	out.Emails, err = customerEmails(ctx, store, shop, placed)
	return out, err
}

// customerEmails returns the email outcomes caused by the given events.
func customerEmails(ctx context.Context, store *eventstore.Store, shop string, sources []uuid.UUID) ([]ExportedEmail, error) {
	ids := make([]string, len(sources))
	for i, s := range sources {
		ids[i] = s.String()
	}
	rows, err := store.Pool().Query(ctx, `SELECT event_id, stream_id, stream_version, event_type, data FROM events
		WHERE tenant_id = $1 AND event_type IN ('email.sent', 'email.failed') AND data ->> 'source_event_id' = ANY($2)
		ORDER BY global_position`, shop, ids)
	if err != nil {
		return nil, err
	}
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (eventstore.Event, error) {
		var e eventstore.Event
		return e, row.Scan(&e.ID, &e.StreamID, &e.StreamVersion, &e.Type, &e.Data)
	})
	if err != nil {
		return nil, err
	}
	if err := store.Open(ctx, events); err != nil {
		return nil, err
	}
	out := []ExportedEmail{}
	for _, e := range events {
		d, err := eventstore.DecodeEvent(e.Type, e.Data)
		if err != nil {
			return nil, err
		}
		switch d := d.(type) {
		case domain.EmailSent:
			out = append(out, ExportedEmail{Type: e.Type, To: d.To, Subject: d.Subject, At: d.SentAt})
		case domain.EmailFailed:
			out = append(out, ExportedEmail{Type: e.Type, To: d.To, Subject: d.Subject, At: d.FailedAt})
		}
	}
	return out, nil
}
