package projections

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// BenchmarkShadowRebuildMillion rebuilds orders_view the way `ordermill-replay
// replay` does (shadow tables, indexes after the load) from 1,000,000 order
// events, next to plain scans of the same events table as the floor. Set
// BENCH_ORDERS to change the number of orders (4 events each):
//
//	go test -bench ShadowRebuildMillion -run '^$' -benchtime 1x ./projections
func BenchmarkShadowRebuildMillion(b *testing.B) {
	orders := 250_000
	if v := os.Getenv("BENCH_ORDERS"); v != "" {
		var err error
		if orders, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	f := newFixture(b)
	start := time.Now()
	events := seedOrdersSQL(b, f, orders)
	b.Logf("seeded %d events in %s (%.0f events/s, hash trigger included)", events, time.Since(start),
		float64(events)/time.Since(start).Seconds())
	rate := func(b *testing.B, n int64) { b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s") }

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
	b.Run("read-all-commit-order", func(b *testing.B) {
		var n int64
		for b.Loop() {
			pos := eventstore.Start
			for {
				batch, err := f.store.ReadAll(f.ctx, pos, 5000)
				if err != nil {
					b.Fatal(err)
				}
				if len(batch) == 0 {
					break
				}
				n += int64(len(batch))
				pos = batch[len(batch)-1].Position
			}
		}
		rate(b, n)
	})
	shadow, err := OpenShadow(f.ctx, f.pool)
	if err != nil {
		b.Fatal(err)
	}
	defer shadow.Close()
	b.Run("shadow-rebuild-orders", func(b *testing.B) {
		var n int64
		for b.Loop() {
			res, err := shadow.Rebuild(f.ctx, NewOrders(nil, ""), nil)
			if err != nil {
				b.Fatal(err)
			}
			if res.Events != events {
				b.Fatalf("rebuilt from %d events, want %d", res.Events, events)
			}
			n += res.Events
		}
		rate(b, n)
	})
}

// seedOrdersSQL inserts orders placed, paid, shipped and refunded, one phase
// after another, in large INSERT … SELECT batches: the hash-chain trigger
// still computes every hash.
func seedOrdersSQL(b *testing.B, f *fixture, orders int) int64 {
	b.Helper()
	const placeholder = "00000000-0000-0000-0000-000000000000"
	phases := []domain.Event{
		placed(uuid.MustParse(placeholder)),
		paid,
		domain.OrderFulfilled{FulfillmentID: "f1", Lines: []domain.LineQuantity{lq("l1", 2)}, FulfilledAt: cut},
		domain.OrderRefunded{RefundID: "r1", Amount: 1000, Lines: []domain.LineQuantity{lq("l2", 1)}, RefundedAt: cut},
	}
	run := uuid.NewString()
	const batch = 50_000
	for v, e := range phases {
		data, err := json.Marshal(e)
		if err != nil {
			b.Fatal(err)
		}
		for from := 0; from < orders; from += batch {
			_, err := f.pool.Exec(context.Background(), `INSERT INTO events
				(event_id, stream_id, stream_version, event_type, tenant_id, data, metadata)
				SELECT gen_random_uuid(), 'order-' || id, $1, $2, $3, replace($4, $5, id)::jsonb, '{"source": "bench"}'
				FROM (SELECT md5($6 || g)::uuid::text AS id FROM generate_series($7::int, $8::int) g) o`,
				v+1, e.EventType(), shop, string(data), placeholder, run, from, min(from+batch, orders)-1)
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	return int64(orders * len(phases))
}
