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
// together as the runner does, and, as the baseline in the same run, each
// write in its own round trip: `go test -run '^$' -bench ApplyOrders ./projections`.
func BenchmarkApplyOrders(b *testing.B) {
	f := newFixture(b)
	p := NewOrders(nil, "")
	for _, c := range []struct {
		name  string
		apply func(context.Context, pgx.Tx, Projector, []eventstore.Event, []string) ([]eventstore.Event, int, error)
	}{{"writes-together", applyDeferred}, {"write-per-round-trip", applyIn}} {
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
				err := pgx.BeginFunc(f.ctx, f.pool, func(tx pgx.Tx) error {
					_, _, err := c.apply(f.ctx, tx, p, given, streams)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
