package eventstore_test

// Append and read throughput next to their raw baselines, measured in the
// same run: `go test -run '^$' -bench . ./eventstore`.

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/relay"
)

// runWriters spreads b.N single-event appends over writers goroutines and
// reports events/s.
func runWriters(b *testing.B, writers int, appendOne func(ctx context.Context, i int64) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if err := appendOne(ctx, i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

func BenchmarkAppend(b *testing.B) {
	pool := testenv.Pool(b)
	store := eventstore.New(pool)
	// The baseline: the same row into a plain table with the same columns and
	// unique keys, without the hash-chain trigger, through a plain pgx INSERT.
	if _, err := pool.Exec(context.Background(), `CREATE TABLE baseline (LIKE events INCLUDING ALL)`); err != nil {
		b.Fatal(err)
	}
	meta := `{"correlation_id":"c","causation_id":"d"}`
	for _, writers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("store/writers=%d", writers), func(b *testing.B) {
			run := uuid.NewString()[:8]
			runWriters(b, writers, func(ctx context.Context, i int64) error {
				_, err := store.Append(ctx, fmt.Sprintf("order-%s-%d", run, i), eventstore.NoStream, eventstore.NewEvent{
					Type: "order.placed", Tenant: "shop.test", Data: testenv.BenchPayload,
					Metadata: eventstore.Metadata{CorrelationID: "c", CausationID: "d"}})
				return err
			})
		})
		b.Run(fmt.Sprintf("raw-insert/writers=%d", writers), func(b *testing.B) {
			run := uuid.NewString()[:8]
			runWriters(b, writers, func(ctx context.Context, i int64) error {
				_, err := pool.Exec(ctx, `INSERT INTO baseline (event_id, stream_id, stream_version, event_type, tenant_id, data, metadata, prev_hash, hash)
					VALUES ($1, $2, 1, 'order.placed', 'shop.test', $3, $4, '\x00', '\x00')`,
					uuid.New(), fmt.Sprintf("order-%s-%d", run, i), string(testenv.BenchPayload), meta)
				return err
			})
		})
	}
}

// BenchmarkReadAll reads "all" in the relay's batches next to its floor: the
// same rows, every column, taken off the connection in binary and not decoded.
func BenchmarkReadAll(b *testing.B) {
	pool := testenv.Pool(b)
	store := eventstore.New(pool)
	ctx := context.Background()
	total := testenv.AppendBulk(b, pool, 20000)
	run := func(b *testing.B, batch func(after eventstore.Position) (int, eventstore.Position, error)) {
		start := time.Now()
		for range b.N {
			read := 0
			for after := eventstore.Start; read < total; {
				n, last, err := batch(after)
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					b.Fatalf("read %d of %d events", read, total)
				}
				read, after = read+n, last
			}
		}
		b.ReportMetric(float64(b.N*total)/time.Since(start).Seconds(), "events/s")
	}
	b.Run("ReadAll", func(b *testing.B) {
		run(b, func(after eventstore.Position) (int, eventstore.Position, error) {
			events, err := store.ReadAll(ctx, after, relay.FollowBatch)
			if err != nil || len(events) == 0 {
				return 0, after, err
			}
			return len(events), events[len(events)-1].Position, nil
		})
	})
	b.Run("raw-rows", func(b *testing.B) {
		run(b, func(after eventstore.Position) (int, eventstore.Position, error) {
			rows, err := pool.Query(ctx, `SELECT * FROM events
				WHERE (transaction_id, global_position) > ($1::text::xid8, $2) AND transaction_id < events_horizon()
				ORDER BY transaction_id, global_position LIMIT $3`,
				pgx.QueryResultFormats{pgx.BinaryFormatCode}, fmt.Sprint(after.TransactionID), after.GlobalPos, relay.FollowBatch)
			if err != nil {
				return 0, after, err
			}
			n, last := 0, after
			for rows.Next() {
				v := rows.RawValues()
				// global_position and transaction_id (xid8) lead the table, both 8 bytes.
				last = eventstore.Position{GlobalPos: int64(binary.BigEndian.Uint64(v[0])),
					TransactionID: binary.BigEndian.Uint64(v[1])}
				n++
			}
			return n, last, rows.Err()
		})
	})
}
