package projections

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// BenchmarkApplyOrders applies 30 new orders (about one projector batch at
// 500 webhooks/s) in one transaction, with the writes held back and sent
// together with COMMIT as the runner does, and, as the baseline in the same
// run, each statement in its own round trip: `go test -run '^$' -bench ApplyOrders ./projections`.
func BenchmarkApplyOrders(b *testing.B) {
	f := newFixture(b)
	p := NewOrders(nil, "")
	for _, c := range []struct {
		name string
		inTx func(context.Context, func(pgx.Tx) error) error
	}{
		{"writes-together", func(ctx context.Context, fn func(pgx.Tx) error) error {
			return inDeferredTx(ctx, f.pool, func(tx *deferredTx) error { return fn(tx) })
		}},
		{"write-per-round-trip", func(ctx context.Context, fn func(pgx.Tx) error) error { return pgx.BeginFunc(ctx, f.pool, fn) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				var given []eventstore.Event
				for range 30 {
					id := uuid.New()
					given = append(given, f.appendEvents(b, domain.OrderStream(id), placed(id))[0])
				}
				given = inStreamOrder(given)
				streams := streamsOf(given)
				b.StartTimer()
				err := c.inTx(f.ctx, func(tx pgx.Tx) error {
					_, _, err := applyIn(f.ctx, tx, p, given, streams)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
