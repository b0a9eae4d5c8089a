package projections

import (
	"testing"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// unbatched hides ApplyBatch, so Rebuild takes the one-transaction-per-event path.
type unbatched struct{ Projector }

// BenchmarkRebuild rebuilds orders_view from 100,000 order events, next to a
// plain sequential read of the same events table as the floor:
//
//	go test -bench Rebuild -run '^$' ./projections
func BenchmarkRebuild(b *testing.B) {
	f := newFixture(b)
	events := seedOrders(b, f, 25_000)
	rate := func(b *testing.B, n int64) {
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("scan", func(b *testing.B) {
		var n int64
		for b.Loop() {
			rows, err := f.pool.Query(f.ctx, `SELECT * FROM events`)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				_ = rows.RawValues()
				n++
			}
			if err := rows.Err(); err != nil {
				b.Fatal(err)
			}
		}
		rate(b, n)
	})
	for _, c := range []struct {
		name string
		p    Projector
	}{
		{"batched", NewOrders(nil, "")},
		{"per-event", unbatched{NewOrders(nil, "")}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var n int64
			for b.Loop() {
				got, err := Rebuild(f.ctx, f.store, c.p, nil)
				if err != nil {
					b.Fatal(err)
				}
				if got != events {
					b.Fatalf("rebuilt from %d events, want %d", got, events)
				}
				n += got
			}
			rate(b, n)
		})
	}
}

// seedOrders appends orders placed, paid, partly shipped and partly refunded,
// one phase after another so that each order's stream spans rebuild batches.
func seedOrders(b *testing.B, f *fixture, orders int) int64 {
	ids := make([]uuid.UUID, orders)
	for i := range ids {
		ids[i] = uuid.New()
	}
	phases := []func(id uuid.UUID) domain.Event{
		func(id uuid.UUID) domain.Event { return placed(id) },
		func(uuid.UUID) domain.Event { return paid },
		func(uuid.UUID) domain.Event {
			return domain.OrderFulfilled{FulfillmentID: "f1", Lines: []domain.LineQuantity{lq("l1", 2)}, FulfilledAt: cut}
		},
		func(uuid.UUID) domain.Event {
			return domain.OrderRefunded{RefundID: "r1", Amount: 1000, Lines: []domain.LineQuantity{lq("l2", 1)}, RefundedAt: cut}
		},
	}
	const chunk = 500
	for _, phase := range phases {
		for start := 0; start < orders; start += chunk {
			var appends []eventstore.StreamAppend
			for _, id := range ids[start:min(start+chunk, orders)] {
				enc, err := eventstore.Encode(shop, eventstore.Metadata{Source: "bench"}, phase(id))
				if err != nil {
					b.Fatal(err)
				}
				appends = append(appends, eventstore.StreamAppend{Stream: domain.OrderStream(id), Expected: eventstore.AnyVersion, Events: enc})
			}
			if _, err := f.store.AppendStreams(f.ctx, appends...); err != nil {
				b.Fatal(err)
			}
		}
	}
	return int64(orders * len(phases))
}
