package projections

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// deferredTx is a projector batch's transaction, sent in as few round trips
// as it can: BEGIN goes with the first statement, and the projector's
// writes (Exec) are held back and sent together with whatever comes next,
// the next read or COMMIT. A batch reads its streams' versions and then
// writes several tables and its bookkeeping: two round trips instead of one
// per statement and two more for BEGIN and COMMIT, which at a low rate,
// with batches of an event or two, were most of a projector's cost (make
// bench, scenario 2). Reads still see every earlier write, and a failed
// write still fails the transaction, only later. Projectors never look at a
// write's command tag, which is therefore empty.
type deferredTx struct {
	conn   *pgx.Conn
	begun  bool // BEGIN is sent
	queued pgx.Batch
}

// inDeferredTx runs fn in a deferredTx on a connection of pool and commits
// if fn succeeds.
func inDeferredTx(ctx context.Context, pool *pgxpool.Pool, fn func(tx *deferredTx) error) error {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection left inside a transaction (a failed ROLLBACK) is closed
	// rather than reused: the pool checks.
	defer c.Release()
	tx := &deferredTx{conn: c.Conn()}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(ctx)
		return err
	}
	return tx.Commit(ctx)
}

func (d *deferredTx) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	d.queued.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

// send sends, in one round trip, BEGIN unless it went already, the
// held-back writes, then tail's statements, and reads the results up to
// tail's, which are the caller's to read.
func (d *deferredTx) send(ctx context.Context, tail *pgx.Batch) (pgx.BatchResults, error) {
	all := &pgx.Batch{}
	if !d.begun {
		all.Queue("BEGIN")
	}
	lead := all.Len() + d.queued.Len()
	all.QueuedQueries = append(all.QueuedQueries, d.queued.QueuedQueries...)
	all.QueuedQueries = append(all.QueuedQueries, tail.QueuedQueries...)
	d.queued, d.begun = pgx.Batch{}, true
	br := d.conn.SendBatch(ctx, all)
	for _, q := range all.QueuedQueries[:lead] {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, fmt.Errorf("%s: %w", statement(q.SQL), err)
		}
	}
	return br, nil
}

// flush sends the held-back writes, and BEGIN if it has not gone yet.
func (d *deferredTx) flush(ctx context.Context) error {
	if d.begun && d.queued.Len() == 0 {
		return nil
	}
	br, err := d.send(ctx, &pgx.Batch{})
	if err != nil {
		return err
	}
	return br.Close()
}

// statement names a statement in an error by its first words.
func statement(sql string) string {
	f := strings.Fields(sql)
	return strings.Join(f[:min(len(f), 3)], " ")
}

func (d *deferredTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if queryOptions(args) {
		// A batch cannot carry them: the query goes on its own, after the rest.
		if err := d.flush(ctx); err != nil {
			return nil, err
		}
		return d.conn.Query(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br, err := d.send(ctx, b)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// queryOptions reports whether args start with options of pgx's Query
// (result formats, exec mode, a rewriter), as the event store's reads do.
func queryOptions(args []any) bool {
	if len(args) == 0 {
		return false
	}
	switch args[0].(type) {
	case pgx.QueryResultFormats, pgx.QueryResultFormatsByOID, pgx.QueryExecMode, pgx.QueryRewriter:
		return true
	}
	return false
}

// batchRows are a query's rows that end its batch: closing them closes it.
type batchRows struct {
	pgx.Rows
	br       pgx.BatchResults
	closeErr error
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if r.br != nil {
		r.closeErr, r.br = r.br.Close(), nil
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.closeErr
}

func (d *deferredTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := d.Query(ctx, sql, args...)
	return &firstRow{rows: rows, err: err}
}

// firstRow is QueryRow's row: the first of rows, or pgx.ErrNoRows.
type firstRow struct {
	rows pgx.Rows
	err  error
}

func (r *firstRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

func (d *deferredTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := d.flush(ctx); err != nil {
		return 0, err
	}
	return d.conn.CopyFrom(ctx, table, columns, src)
}

func (d *deferredTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	br, err := d.send(ctx, b)
	if err != nil {
		return pgx.FailedBatchResults(b, err)
	}
	return br
}

// Commit sends the held-back writes with COMMIT. A transaction that sent
// nothing has nothing to commit.
func (d *deferredTx) Commit(ctx context.Context) error {
	if !d.begun && d.queued.Len() == 0 {
		return nil
	}
	b := &pgx.Batch{}
	b.Queue("COMMIT")
	br, err := d.send(ctx, b)
	if err != nil {
		_ = d.Rollback(ctx)
		return err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	d.begun = false
	if err == nil && tag.String() == "ROLLBACK" {
		err = pgx.ErrTxCommitRollback
	}
	return err
}

func (d *deferredTx) Rollback(ctx context.Context) error {
	d.queued = pgx.Batch{}
	if !d.begun {
		return nil
	}
	d.begun = false
	_, err := d.conn.Exec(ctx, "ROLLBACK")
	return err
}

var errNested = errors.New("projections: a projector's transaction has no nested transactions")

func (d *deferredTx) Begin(context.Context) (pgx.Tx, error) { return nil, errNested }

func (d *deferredTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }

func (d *deferredTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return d.conn.Prepare(ctx, name, sql)
}

func (d *deferredTx) Conn() *pgx.Conn { return d.conn }
