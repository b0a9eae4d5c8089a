package projections

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// Fulfillments maintains fulfillments_view: one row per shipment of an order,
// whether a webhook or reconciliation recorded it.
type Fulfillments struct{}

// NewFulfillments returns the fulfillments projector.
func NewFulfillments() *Fulfillments { return &Fulfillments{} }

// Name implements Projector.
func (*Fulfillments) Name() string { return "fulfillments" }

// Categories implements Projector.
func (*Fulfillments) Categories() []string { return []string{"order"} }

// Tables implements Projector.
func (*Fulfillments) Tables() []string { return []string{"fulfillments_view"} }

// PersonalData implements Projector: shipments carry no personal data.
func (*Fulfillments) PersonalData() []PersonalData { return nil }

// fulfillmentSucceeded is the status of every row: the order aggregate
// records only shipments that left (Shopify's SUCCESS); cancelled or failed
// Shopify fulfillments never become order.fulfilled.
const fulfillmentSucceeded = "success"

// Apply implements Projector.
func (*Fulfillments) Apply(ctx context.Context, tx pgx.Tx, e eventstore.Event) error {
	if e.Type != "order.fulfilled" {
		return nil
	}
	d, err := eventstore.DecodeEvent(e.Type, e.Data)
	if err != nil {
		return err
	}
	f := d.(domain.OrderFulfilled)
	orderID, err := streamUUID(e.StreamID)
	if err != nil {
		return err
	}
	lines, err := json.Marshal(f.Lines)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO fulfillments_view (order_id, fulfillment_id, shop, status, lines, created_at, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (order_id, fulfillment_id) DO NOTHING`,
		orderID, f.FulfillmentID, e.Tenant, fulfillmentSucceeded, lines, f.FulfilledAt, e.RecordedAt)
	return err
}

// streamUUID is the id part of a "<category>-<uuid>" stream.
func streamUUID(stream string) (uuid.UUID, error) {
	id, err := uuid.Parse(stream[len(eventstore.Category(stream))+1:])
	if err != nil {
		return uuid.Nil, fmt.Errorf("stream %s: %w", stream, err)
	}
	return id, nil
}
