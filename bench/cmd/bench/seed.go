package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/domain"
)

// orderLife is an order's events in the order they happen: placed, paid,
// partly shipped, partly refunded.
func orderLife(id uuid.UUID) []domain.Event {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	return []domain.Event{
		domain.OrderPlaced{
			OrderID: id, Shop: benchShop, Name: "#1001", Source: domain.SourceAPI, Email: "ann@example.com",
			CustomerName: "Ann Lee", Currency: "EUR", Subtotal: 4500, Total: 5000, PlacedAt: at,
			Lines: []domain.PlacedLine{
				{ID: "l1", SKU: "TEE", Title: "Tee", Quantity: 2, UnitPrice: 1500},
				{ID: "l2", VariantID: 9007199254740993, Title: "Mug", Quantity: 1, UnitPrice: 1000},
				{ID: "l3", Title: "Gift wrap", Quantity: 1, UnitPrice: 500},
			},
		},
		domain.OrderPaid{Amount: 5000, PaidAt: at.Add(time.Minute)},
		domain.OrderFulfilled{FulfillmentID: "f1", Lines: []domain.LineQuantity{{LineID: "l1", Quantity: 2}}, FulfilledAt: at.Add(time.Hour)},
		domain.OrderRefunded{RefundID: "r1", Amount: 1000, Lines: []domain.LineQuantity{{LineID: "l2", Quantity: 1}},
			RefundedAt: at.Add(2 * time.Hour)},
	}
}

// seedOrders appends the first phases events of each of orders orders, one
// phase after another (so each order's stream spans the table), in large
// INSERT … SELECT statements: the database still runs the hash-chain trigger
// for every row, but no round trip per event. It returns the events written.
func seedOrders(ctx context.Context, pool *pgxpool.Pool, orders, phases int) (int64, error) {
	const placeholder = "00000000-0000-0000-0000-000000000000"
	run := uuid.NewString()
	const batch = 50_000
	for v, e := range orderLife(uuid.MustParse(placeholder))[:phases] {
		data, err := json.Marshal(e)
		if err != nil {
			return 0, err
		}
		for from := 0; from < orders; from += batch {
			_, err := pool.Exec(ctx, `INSERT INTO events
				(event_id, stream_id, stream_version, event_type, tenant_id, data, metadata)
				SELECT gen_random_uuid(), 'order-' || id, $1, $2, $3, replace($4, $5, id)::jsonb, '{"source": "bench"}'
				FROM (SELECT md5($6 || g)::uuid::text AS id FROM generate_series($7::int, $8::int) g) o`,
				v+1, e.EventType(), benchShop, string(data), placeholder, run, from, min(from+batch, orders)-1)
			if err != nil {
				return 0, err
			}
		}
	}
	return int64(orders * phases), nil
}
