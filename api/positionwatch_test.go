package api

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/database"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/projections"
)

func setProgress(t *testing.T, pool *pgxpool.Pool, projection string, p eventstore.Position) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `INSERT INTO projection_progress (projection, transaction_id, global_position, event_recorded_at)
		VALUES ($1, $2::text::xid8, $3, now())
		ON CONFLICT (projection) DO UPDATE SET transaction_id = EXCLUDED.transaction_id, global_position = EXCLUDED.global_position`,
		projection, strconv.FormatUint(p.TransactionID, 10), p.GlobalPos); err != nil {
		t.Fatal(err)
	}
}

// TestPositionWatcherWakesOnProgressNotification: forty waiters are released
// by the projectors' progress notification alone (the fallback poll is
// switched off), and only those whose position was reached.
func TestPositionWatcherWakesOnProgressNotification(t *testing.T) {
	pool := testenv.Pool(t)
	w := newPositionWatcher(pool, pool, slog.New(slog.DiscardHandler))
	w.poll = time.Hour
	setProgress(t, pool, "orders", eventstore.Position{TransactionID: 100, GlobalPos: 5})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const waiters = 40
	reached := make(chan bool, waiters)
	for range waiters {
		go func() { reached <- w.wait(ctx, "orders", eventstore.Position{TransactionID: 100, GlobalPos: 7}) }()
	}
	// One more waits for a position that is not reached; it gives up on its own.
	farCtx, farCancel := context.WithCancel(ctx)
	far := make(chan bool, 1)
	go func() { far <- w.wait(farCtx, "orders", eventstore.Position{TransactionID: 200, GlobalPos: 1}) }()

	// Wait until the watcher listens, has read progress with everyone
	// waiting and has nothing left to do, twice in a row 100 ms apart, so
	// that only a notification can release anyone from now on.
	quiet := func() bool {
		var listening, reading bool
		if err := pool.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' AND state = 'idle'),
			EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%FROM projection_progress'
				AND state <> 'idle' AND pid <> pg_backend_pid())`).Scan(&listening, &reading); err != nil {
			t.Fatal(err)
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		return listening && !reading && len(w.waiters) == waiters+1 && !w.stale && w.progress != nil
	}
	for settled := 0; settled < 2; {
		if ctx.Err() != nil {
			t.Fatal("the watcher never settled")
		}
		time.Sleep(100 * time.Millisecond)
		if quiet() {
			settled++
		} else {
			settled = 0
		}
	}

	setProgress(t, pool, "orders", eventstore.Position{TransactionID: 100, GlobalPos: 9})
	database.NewNotifier(pool, projections.ProgressChannel, 0).Signal()
	for range waiters {
		if !<-reached {
			t.Fatal("a waiter gave up although its position was reached")
		}
	}
	select {
	case <-far:
		t.Fatal("the waiter for an unreached position was released")
	default:
	}
	farCancel()
	if <-far {
		t.Fatal("the waiter for an unreached position reports it reached")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.waiters) != 0 {
		t.Fatalf("%d waiters still registered", len(w.waiters))
	}
}
