package projections

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// deferredTx holds back a projector's writes (Exec) and sends them to
// Postgres together, in one round trip, just before the next read or at the
// end of the transaction. A projector writes several tables and its
// bookkeeping per batch: one round trip for all instead of one each. Reads
// still see every earlier write, and a failed write still fails the
// transaction, only later. Projectors never look at a write's command tag,
// which is therefore empty.
type deferredTx struct {
	pgx.Tx
	queued pgx.Batch
}

func (d *deferredTx) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	d.queued.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

// flush sends the held-back writes.
func (d *deferredTx) flush(ctx context.Context) error {
	if d.queued.Len() == 0 {
		return nil
	}
	b := d.queued
	d.queued = pgx.Batch{}
	results := d.Tx.SendBatch(ctx, &b)
	for _, q := range b.QueuedQueries {
		if _, err := results.Exec(); err != nil {
			_ = results.Close()
			return fmt.Errorf("%s: %w", statement(q.SQL), err)
		}
	}
	return results.Close()
}

// statement names a statement in an error by its first words.
func statement(sql string) string {
	f := strings.Fields(sql)
	return strings.Join(f[:min(len(f), 3)], " ")
}

func (d *deferredTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := d.flush(ctx); err != nil {
		return nil, err
	}
	return d.Tx.Query(ctx, sql, args...)
}

func (d *deferredTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := d.flush(ctx); err != nil {
		return errRow{err}
	}
	return d.Tx.QueryRow(ctx, sql, args...)
}

func (d *deferredTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := d.flush(ctx); err != nil {
		return 0, err
	}
	return d.Tx.CopyFrom(ctx, table, columns, src)
}

func (d *deferredTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := d.flush(ctx); err != nil {
		return pgx.FailedBatchResults(b, err)
	}
	return d.Tx.SendBatch(ctx, b)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
