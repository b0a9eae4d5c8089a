package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// Webhooks maintains webhooks_view, the log of captured Shopify webhooks.
type Webhooks struct{}

// NewWebhooks returns the webhooks projector.
func NewWebhooks() *Webhooks { return &Webhooks{} }

// Name implements Projector.
func (*Webhooks) Name() string { return "webhooks" }

// Categories implements Projector.
func (*Webhooks) Categories() []string { return []string{"webhook"} }

// Tables implements Projector.
func (*Webhooks) Tables() []string { return []string{"webhooks_view"} }

// PersonalData implements Projector: the log keeps topics and outcomes; bodies stay sealed in the events.
func (*Webhooks) PersonalData() []PersonalData { return nil }

// Apply implements Projector.
func (p *Webhooks) Apply(ctx context.Context, tx pgx.Tx, e eventstore.Event) error {
	return p.ApplyBatch(ctx, tx, []eventstore.Event{e})
}

// webhookRow is a webhooks_view row, or the part of one a status event sets.
type webhookRow struct {
	ID             uuid.UUID  `json:"id"`
	StreamID       string     `json:"stream_id"`
	Shop           string     `json:"shop"`
	WebhookID      string     `json:"webhook_id"`
	Topic          string     `json:"topic"`
	EventID        string     `json:"event_id"`
	ReceivedAt     time.Time  `json:"received_at"`
	Status         string     `json:"status"`
	Result         string     `json:"result"`
	Error          string     `json:"error"`
	OrderID        *string    `json:"order_id"`
	ProcessedAt    *time.Time `json:"processed_at"`
	TransactionID  uint64     `json:"transaction_id"`
	GlobalPosition int64      `json:"global_position"`
}

// ApplyBatch implements BatchProjector. Each stream's events fold into its
// row, and the batch takes two statements whatever its size: one inserts
// the webhooks received in it, one updates the status of the others. A
// statement per event was two round trips per webhook in one transaction.
func (*Webhooks) ApplyBatch(ctx context.Context, tx pgx.Tx, events []eventstore.Event) error {
	type fold struct {
		row      webhookRow
		received bool
	}
	var streams []*fold
	byStream := map[string]*fold{}
	for _, e := range events {
		d, err := eventstore.DecodeEvent(e.Type, e.Data)
		if err != nil {
			return err
		}
		switch d.(type) {
		case domain.WebhookComplianceRecorded, domain.WebhookDuplicateReceived:
			// Shown through the processed outcome that follows it; duplicates in
			// the trace.
			continue
		}
		f := byStream[e.StreamID]
		if f == nil {
			f = &fold{row: webhookRow{StreamID: e.StreamID}}
			byStream[e.StreamID] = f
			streams = append(streams, f)
		}
		row := &f.row
		switch d := d.(type) {
		case domain.WebhookReceived:
			f.received = true
			*row = webhookRow{ID: e.ID, StreamID: e.StreamID, Shop: d.Shop, WebhookID: d.WebhookID, Topic: d.Topic,
				EventID: d.EventID, ReceivedAt: e.RecordedAt, Status: "received"}
		case domain.WebhookProcessed:
			row.Status, row.Result, row.Error, row.OrderID, row.ProcessedAt = "processed", d.Result, "", nonEmpty(d.OrderID), &e.RecordedAt
		case domain.WebhookFailed:
			row.Status, row.Result, row.Error, row.OrderID, row.ProcessedAt = "failed", "", d.Reason, nonEmpty(d.OrderID), &e.RecordedAt
		default:
			return fmt.Errorf("webhooks projector: unexpected %s", e.Type)
		}
		row.TransactionID, row.GlobalPosition = e.Position.TransactionID, e.Position.GlobalPos
	}
	var inserts, updates []webhookRow
	for _, f := range streams {
		if f.received {
			inserts = append(inserts, f.row)
		} else {
			updates = append(updates, f.row)
		}
	}
	if err := upsertRows(ctx, tx, "webhooks_view", "id", inserts); err != nil {
		return err
	}
	if len(updates) == 0 {
		return nil
	}
	data, err := json.Marshal(updates)
	if err != nil {
		return fmt.Errorf("write webhooks_view: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE webhooks_view w SET status = u.status, result = u.result, error = u.error,
			order_id = u.order_id, processed_at = u.processed_at, transaction_id = u.transaction_id,
			global_position = u.global_position
		FROM jsonb_populate_recordset(NULL::webhooks_view, $1) u WHERE w.stream_id = u.stream_id`, data); err != nil {
		return fmt.Errorf("write webhooks_view: %w", err)
	}
	return nil
}

// nonEmpty is s, or nil when it is empty.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
