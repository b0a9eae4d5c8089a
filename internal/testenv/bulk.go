package testenv

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BenchPayload is a typical order payload for benchmarks.
var BenchPayload = json.RawMessage(`{"order_id":"5f1c2c1e-8d7a-4f53-9d1e-0d7a2b9d3c11","amount":1999,"currency":"USD","lines":[{"sku":"TEE-M","quantity":2}]}`)

// AppendBulk inserts n single-event order streams in large batches, straight
// into the table, and returns how many events the table holds.
func AppendBulk(b testing.TB, pool *pgxpool.Pool, n int) int {
	b.Helper()
	run := uuid.NewString()[:8]
	for done := 0; done < n; {
		batch := min(5000, n-done)
		if _, err := pool.Exec(context.Background(), `INSERT INTO events (event_id, stream_id, stream_version, event_type, tenant_id, data)
			SELECT gen_random_uuid(), 'order-' || $1 || '-' || g, 1, 'order.placed', 'shop.test', $2::jsonb
			FROM generate_series($3::int, $4::int) g`, run, string(BenchPayload), done, done+batch-1); err != nil {
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
