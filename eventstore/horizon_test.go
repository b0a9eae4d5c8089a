package eventstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// Readers of "all" do not wait for a transaction that holds NoEventsLockKey,
// but do wait for every other one in flight, including one that such a
// transaction is itself waiting for.
func TestReadAllWaitsOnlyForTransactionsThatMayAddEvents(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	store := eventstore.New(pool)
	if _, err := pool.Exec(ctx, `CREATE TABLE scratch (id int PRIMARY KEY, v int); INSERT INTO scratch VALUES (1, 0), (2, 0)`); err != nil {
		t.Fatal(err)
	}
	begin := func() pgx.Tx {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tx.Rollback(ctx) })
		return tx
	}
	exec := func(tx pgx.Tx, sql string, args ...any) {
		t.Helper()
		if _, err := tx.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	readable := func() []string {
		t.Helper()
		events, err := store.ReadAll(ctx, eventstore.Start, 100)
		if err != nil {
			t.Fatal(err)
		}
		var streams []string
		for _, e := range events {
			streams = append(streams, e.StreamID)
		}
		return streams
	}
	appendOne := func(stream string) {
		t.Helper()
		if _, err := store.Append(ctx, stream, eventstore.NoStream, ev("t.one", 1)); err != nil {
			t.Fatal(err)
		}
	}

	// A transaction that adds no events, with an id, in flight.
	projector := begin()
	exec(projector, `SELECT pg_advisory_xact_lock_shared($1)`, eventstore.NoEventsLockKey)
	exec(projector, `UPDATE scratch SET v = v + 1 WHERE id = 2`)
	appendOne("order-a")
	if got := readable(); !slices.Equal(got, []string{"order-a"}) {
		t.Fatalf("readable behind a transaction that adds no events: %v, want order-a", got)
	}

	// A writer in flight holds readers back, even while a transaction that
	// adds no events waits for its row (a ShareLock on the writer's id).
	writer := begin()
	exec(writer, `UPDATE scratch SET v = v + 1 WHERE id = 1`)
	if _, err := eventstore.AppendTx(ctx, writer, eventstore.StreamAppend{Stream: "order-w", Expected: eventstore.NoStream,
		Events: []eventstore.NewEvent{ev("t.one", 1)}}); err != nil {
		t.Fatal(err)
	}
	waiter := begin()
	exec(waiter, `SELECT pg_advisory_xact_lock_shared($1)`, eventstore.NoEventsLockKey)
	waited := make(chan error, 1)
	go func() {
		_, err := waiter.Exec(ctx, `SELECT v FROM scratch WHERE id = 1 FOR UPDATE`)
		waited <- err
	}()
	for blocked := false; !blocked; time.Sleep(5 * time.Millisecond) {
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted)`).Scan(&blocked); err != nil {
			t.Fatal(err)
		}
	}
	appendOne("order-b")
	if got := readable(); !slices.Equal(got, []string{"order-a"}) {
		t.Fatalf("readable while a writer is in flight: %v, want order-a only", got)
	}
	if err := writer.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	if got := readable(); !slices.Equal(got, []string{"order-a", "order-w", "order-b"}) {
		t.Fatalf("readable after the writer committed: %v, want order-a, order-w, order-b", got)
	}
}

// A transaction of another database on the same server never adds to this
// one's events, so readers of "all" do not wait for it, however long it runs.
func TestReadAllDoesNotWaitForOtherDatabases(t *testing.T) {
	ctx := context.Background()
	pool, other := testenv.Pool(t), testenv.Pool(t)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	if _, err := tx.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil { // takes a transaction id
		t.Fatal(err)
	}
	store := eventstore.New(pool)
	if _, err := store.Append(ctx, "order-x", eventstore.NoStream, ev("t.one", 1)); err != nil {
		t.Fatal(err)
	}
	events, err := store.ReadAll(ctx, eventstore.Start, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].StreamID != "order-x" {
		t.Fatalf("readable while another database's transaction is open: %d events, want order-x", len(events))
	}
}
