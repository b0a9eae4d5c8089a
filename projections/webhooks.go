package projections

import (
	"context"
	"fmt"
	"strconv"

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
func (*Webhooks) Apply(ctx context.Context, tx pgx.Tx, e eventstore.Event) error {
	d, err := eventstore.DecodeEvent(e.Type, e.Data)
	if err != nil {
		return err
	}
	txid := strconv.FormatUint(e.Position.TransactionID, 10)
	switch d := d.(type) {
	case domain.WebhookReceived:
		_, err = tx.Exec(ctx, `INSERT INTO webhooks_view (id, stream_id, shop, webhook_id, topic, event_id, received_at,
				status, transaction_id, global_position)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'received', $8::text::xid8, $9)`,
			e.ID, e.StreamID, d.Shop, d.WebhookID, d.Topic, d.EventID, e.RecordedAt, txid, e.Position.GlobalPos)
	case domain.WebhookProcessed:
		var orderID *string
		if d.OrderID != "" {
			orderID = &d.OrderID
		}
		_, err = tx.Exec(ctx, `UPDATE webhooks_view SET status = 'processed', result = $2, error = '', order_id = $3,
				processed_at = $4, transaction_id = $5::text::xid8, global_position = $6 WHERE stream_id = $1`,
			e.StreamID, d.Result, orderID, e.RecordedAt, txid, e.Position.GlobalPos)
	case domain.WebhookFailed:
		var orderID *string
		if d.OrderID != "" {
			orderID = &d.OrderID
		}
		_, err = tx.Exec(ctx, `UPDATE webhooks_view SET status = 'failed', result = '', error = $2, order_id = $6,
				processed_at = $3, transaction_id = $4::text::xid8, global_position = $5 WHERE stream_id = $1`,
			e.StreamID, d.Reason, e.RecordedAt, txid, e.Position.GlobalPos, orderID)
	case domain.WebhookComplianceRecorded, domain.WebhookDuplicateReceived:
		// Shown through the processed outcome that follows it; duplicates in
		// the trace.
	default:
		return fmt.Errorf("webhooks projector: unexpected %s", e.Type)
	}
	return err
}
