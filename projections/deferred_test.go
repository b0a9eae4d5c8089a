package projections

import (
	"context"
	"strings"
	"testing"

	"github.com/ordermill/ordermill/internal/testenv"
)

func TestDeferredTxSendsWritesBeforeReadsAndFailsOnTheirErrors(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	if _, err := pool.Exec(ctx, `CREATE TABLE deferred (n int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	err := inDeferredTx(ctx, pool, func(tx *deferredTx) error {
		for _, n := range []int{1, 2} {
			if _, err := tx.Exec(ctx, `INSERT INTO deferred VALUES ($1)`, n); err != nil {
				return err
			}
		}
		if tx.queued.Len() != 2 || tx.begun {
			t.Errorf("%d writes held back, begun %v; want 2, not begun", tx.queued.Len(), tx.begun)
		}
		var count int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM deferred`).Scan(&count); err != nil || count != 2 {
			t.Errorf("a read after two writes counts %d, %v; want 2", count, err)
		}
		// Not visible outside before the commit: the writes went in a transaction.
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM deferred`).Scan(&count); err != nil || count != 0 {
			t.Errorf("another connection counts %d, %v before the commit; want 0", count, err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO deferred VALUES (3)`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var count int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM deferred`).Scan(&count); err != nil || count != 3 {
		t.Fatalf("committed %d rows, %v; want 3", count, err)
	}

	// A held-back write that fails fails the next read, and so the transaction.
	err = inDeferredTx(ctx, pool, func(tx *deferredTx) error {
		_, _ = tx.Exec(ctx, `INSERT INTO deferred VALUES (4)`)
		_, _ = tx.Exec(ctx, `INSERT INTO deferred VALUES (1)`) // taken
		_, err := tx.Query(ctx, `SELECT n FROM deferred`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "INSERT INTO deferred") || !strings.Contains(err.Error(), "duplicate key") {
		t.Fatalf("err = %v, want the duplicate key of the held-back INSERT", err)
	}
	// One that fails with COMMIT fails the commit, and nothing of it stays.
	err = inDeferredTx(ctx, pool, func(tx *deferredTx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM deferred`).Scan(&count); err != nil {
			return err
		}
		_, _ = tx.Exec(ctx, `INSERT INTO deferred VALUES (5)`)
		_, _ = tx.Exec(ctx, `INSERT INTO deferred VALUES (2)`) // taken
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "duplicate key") {
		t.Fatalf("err = %v, want the duplicate key of the INSERT sent with COMMIT", err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM deferred`).Scan(&count); err != nil || count != 3 {
		t.Fatalf("%d rows after the failed transactions, %v; want 3", count, err)
	}
	// The failed transactions' connections are usable again.
	for range 2 * int(pool.Config().MaxConns) {
		if err := inDeferredTx(ctx, pool, func(tx *deferredTx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM deferred`).Scan(&count)
		}); err != nil || count != 3 {
			t.Fatalf("a later transaction counts %d, %v; want 3", count, err)
		}
	}
}
