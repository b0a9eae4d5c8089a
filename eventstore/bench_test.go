package eventstore_test

// Append and relay throughput next to their raw baselines, measured in the
// same run: `go test -run '^$' -bench . ./eventstore`.

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

var benchPayload = json.RawMessage(`{"order_id":"5f1c2c1e-8d7a-4f53-9d1e-0d7a2b9d3c11","amount":1999,"currency":"USD","lines":[{"sku":"TEE-M","quantity":2}]}`)

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
					Type: "order.placed", Tenant: "shop.test", Data: benchPayload,
					Metadata: eventstore.Metadata{CorrelationID: "c", CausationID: "d"}})
				return err
			})
		})
		b.Run(fmt.Sprintf("raw-insert/writers=%d", writers), func(b *testing.B) {
			run := uuid.NewString()[:8]
			runWriters(b, writers, func(ctx context.Context, i int64) error {
				_, err := pool.Exec(ctx, `INSERT INTO baseline (event_id, stream_id, stream_version, event_type, tenant_id, data, metadata, prev_hash, hash)
					VALUES ($1, $2, 1, 'order.placed', 'shop.test', $3, $4, '\x00', '\x00')`,
					uuid.New(), fmt.Sprintf("order-%s-%d", run, i), string(benchPayload), meta)
				return err
			})
		})
	}
}

func BenchmarkRelay(b *testing.B) {
	pool := testenv.Pool(b)
	store := eventstore.New(pool)
	client, prefix := testenv.Redis(b)
	ctx := context.Background()

	b.Run("relay", func(b *testing.B) {
		b.StopTimer()
		if _, err := pool.Exec(ctx, `DELETE FROM checkpoints`); err != nil {
			b.Fatal(err)
		}
		// The relay starts from the beginning, so it publishes earlier rounds' events too.
		head := appendBulk(b, pool, b.N)
		pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: client}, watermill.NopLogger{})
		if err != nil {
			b.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		defer stop()
		relay := eventstore.NewRelay(store, pub, eventstore.RelayConfig{TopicPrefix: prefix + uuid.NewString()[:6] + ":",
			Logger: slog.New(slog.DiscardHandler), Follow: eventstore.FollowOptions{BatchSize: 1000}})
		start := time.Now()
		b.StartTimer()
		go relay.Run(runCtx)
		for relay.Published() < int64(head) {
			time.Sleep(time.Millisecond)
		}
		b.StopTimer()
		b.ReportMetric(float64(head)/time.Since(start).Seconds(), "events/s")
	})
	b.Run("raw-xadd", func(b *testing.B) {
		e := eventstore.Event{ID: uuid.New(), StreamID: "order-x", StreamVersion: 1, Type: "order.placed", Data: benchPayload}
		msg, err := eventstore.ToMessage(e)
		if err != nil {
			b.Fatal(err)
		}
		values, err := redisstream.DefaultMarshallerUnmarshaller{}.Marshal("", msg)
		if err != nil {
			b.Fatal(err)
		}
		topic := prefix + "raw"
		start := time.Now()
		b.ResetTimer()
		for range b.N {
			if err := client.XAdd(ctx, &redis.XAddArgs{Stream: topic, Values: values}).Err(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	})
}

// appendBulk inserts n single-event streams in large batches and returns how
// many events the table holds.
func appendBulk(b *testing.B, pool *pgxpool.Pool, n int) int {
	b.Helper()
	run := uuid.NewString()[:8]
	for done := 0; done < n; {
		batch := min(5000, n-done)
		if _, err := pool.Exec(context.Background(), `INSERT INTO events (event_id, stream_id, stream_version, event_type, tenant_id, data)
			SELECT gen_random_uuid(), 'order-' || $1 || '-' || g, 1, 'order.placed', 'shop.test', $2::jsonb
			FROM generate_series($3::int, $4::int) g`, run, string(benchPayload), done, done+batch-1); err != nil {
			b.Fatal(err)
		}
		done += batch
	}
	var total int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&total); err != nil {
		b.Fatal(err)
	}
	return total
}

// BenchmarkReadAll reads "all" in the relay's batches next to its floor: the
// same rows, every column, taken off the connection in binary and not decoded.
func BenchmarkReadAll(b *testing.B) {
	pool := testenv.Pool(b)
	store := eventstore.New(pool)
	ctx := context.Background()
	total := appendBulk(b, pool, 20000)
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
			events, err := store.ReadAll(ctx, after, eventstore.FollowBatch)
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
				pgx.QueryResultFormats{pgx.BinaryFormatCode}, fmt.Sprint(after.TransactionID), after.GlobalPos, eventstore.FollowBatch)
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
