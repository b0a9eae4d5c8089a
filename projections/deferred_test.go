package projections

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/internal/testenv"
)

func TestDeferredTxSendsWritesBeforeReadsAndFailsOnTheirErrors(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	if _, err := pool.Exec(ctx, `CREATE TABLE deferred (n int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	err := pgx.BeginFunc(ctx, pool, func(plain pgx.Tx) error {
		tx := &deferredTx{Tx: plain}
		for _, n := range []int{1, 2} {
			if _, err := tx.Exec(ctx, `INSERT INTO deferred VALUES ($1)`, n); err != nil {
				return err
			}
		}
		if tx.queued.Len() != 2 {
			t.Errorf("%d writes held back, want 2", tx.queued.Len())
		}
		var count int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM deferred`).Scan(&count); err != nil || count != 2 {
			t.Errorf("a read after two writes counts %d, %v; want 2", count, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO deferred VALUES (3)`); err != nil {
			return err
		}
		return tx.flush(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	var count int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM deferred`).Scan(&count); err != nil || count != 3 {
		t.Fatalf("committed %d rows, %v; want 3", count, err)
	}

	// A held-back write that fails fails the next read, and so the transaction.
	err = pgx.BeginFunc(ctx, pool, func(plain pgx.Tx) error {
		tx := &deferredTx{Tx: plain}
		_, _ = tx.Exec(ctx, `INSERT INTO deferred VALUES (4)`)
		_, _ = tx.Exec(ctx, `INSERT INTO deferred VALUES (1)`) // taken
		_, err := tx.Query(ctx, `SELECT n FROM deferred`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "INSERT INTO deferred") || !strings.Contains(err.Error(), "duplicate key") {
		t.Fatalf("err = %v, want the duplicate key of the held-back INSERT", err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM deferred`).Scan(&count); err != nil || count != 3 {
		t.Fatalf("%d rows after the failed transaction, %v; want 3", count, err)
	}
}
