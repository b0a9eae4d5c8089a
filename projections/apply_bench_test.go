package projections

import (
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
		name     string
		deferred bool
	}{{"writes-together", true}, {"write-per-round-trip", false}} {
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
				err := pgx.BeginFunc(f.ctx, f.pool, func(plain pgx.Tx) error {
					var tx pgx.Tx = plain
					d := &deferredTx{Tx: plain}
					if c.deferred {
						tx = d
					}
					if _, _, err := applyIn(f.ctx, tx, p, given, streams); err != nil {
						return err
					}
					return d.flush(f.ctx)
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
