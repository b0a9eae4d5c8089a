package app_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

const shop = "app-test.myshopify.com"

func adjust(delta int) func(*domain.Inventory) ([]domain.Event, error) {
	return func(inv *domain.Inventory) ([]domain.Event, error) { return inv.Adjust(delta, "test") }
}

// Writers racing on one hot stream (a SKU's stock changed by many requests
// at once) all land: each conflict is retried on fresh history.
func TestUpdateRetriesConflictsOnAHotStream(t *testing.T) {
	store := eventstore.New(testenv.Pool(t))
	ctx := context.Background()
	key := "hot-" + uuid.NewString()
	const writers = 16
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			_, err := app.Update(ctx, store, domain.InventoryStream(shop, key), app.LoadInventory(shop, key), adjust(1),
				app.By(shop, eventstore.Metadata{}))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	res, err := app.Update(ctx, store, domain.InventoryStream(shop, key), app.LoadInventory(shop, key),
		func(*domain.Inventory) ([]domain.Event, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Aggregate.Snapshot().OnHand; got != writers || res.Appended.Version != writers {
		t.Fatalf("on hand %d at version %d, want %d at %d", got, res.Appended.Version, writers, writers)
	}
}

// The result carries the aggregate with the new events applied and where
// they were appended; deciding nothing appends nothing and answers the
// stream as it was.
func TestUpdateAnswersTheUpdatedAggregate(t *testing.T) {
	store := eventstore.New(testenv.Pool(t))
	ctx := context.Background()
	key := "sku-" + uuid.NewString()
	stream := domain.InventoryStream(shop, key)
	first, err := app.Update(ctx, store, stream, app.LoadInventory(shop, key), adjust(5), app.By(shop, eventstore.Metadata{Actor: "test"}))
	if err != nil {
		t.Fatal(err)
	}
	if first.Aggregate.Snapshot().OnHand != 5 || len(first.Events) != 1 || first.Appended.Version != 1 || len(first.Appended.Events) != 1 {
		t.Fatalf("first update: %+v", first)
	}
	if first.Appended.Events[0].Tenant != shop || first.Appended.Events[0].Metadata.Actor != "test" {
		t.Fatalf("stored event %+v, want tenant %s and actor test", first.Appended.Events[0], shop)
	}
	none, err := app.Update(ctx, store, stream, app.LoadInventory(shop, key),
		func(*domain.Inventory) ([]domain.Event, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(none.Events) != 0 || none.Appended.Version != 1 || none.Appended.Position != first.Appended.Position {
		t.Fatalf("update deciding nothing: %+v, want version 1 at %s", none.Appended, first.Appended.Position)
	}
}

// A conflict raised by load (a client's If-Match) and a rejection by decide
// come back as they are, and nothing is appended.
func TestUpdateReturnsLoadAndDecideErrorsUnretried(t *testing.T) {
	store := eventstore.New(testenv.Pool(t))
	ctx := context.Background()
	key := "sku-" + uuid.NewString()
	stream := domain.InventoryStream(shop, key)
	if _, err := app.Update(ctx, store, stream, app.LoadInventory(shop, key), adjust(1)); err != nil {
		t.Fatal(err)
	}
	loads := 0
	stale := func(h []domain.Event) (*domain.Inventory, error) {
		loads++
		return nil, &eventstore.ConflictError{Stream: stream, Expected: eventstore.Exact(7)}
	}
	_, err := app.Update(ctx, store, stream, stale, adjust(1))
	if !errors.Is(err, eventstore.ErrConcurrency) || loads != 1 {
		t.Fatalf("err %v after %d loads, want the load's conflict after 1", err, loads)
	}
	_, err = app.Update(ctx, store, stream, app.LoadInventory(shop, key), adjust(-5))
	if !domain.IsRejection(err) {
		t.Fatalf("err %v, want the domain's rejection", err)
	}
	if events, _ := store.ReadStream(ctx, stream, 1); len(events) != 1 {
		t.Fatalf("stream has %d events, want 1", len(events))
	}
}

// Expect(NoStream) creates: a second create of the same stream conflicts.
// InTx appends in the caller's transaction, so a rollback keeps nothing.
func TestUpdateCreatesAndAppendsInTheCallersTransaction(t *testing.T) {
	pool := testenv.Pool(t)
	store := eventstore.New(pool)
	ctx := context.Background()
	key := "sku-" + uuid.NewString()
	stream := domain.InventoryStream(shop, key)
	create := func(opts ...app.Option) error {
		_, err := app.Update(ctx, store, stream, app.LoadInventory(shop, key), adjust(3),
			append([]app.Option{app.Expect(eventstore.NoStream)}, opts...)...)
		return err
	}
	rollback := errors.New("roll back")
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := create(app.InTx(tx)); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if _, err := store.ReadStream(ctx, stream, 1); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("after the rollback the stream reads %v, want not found", err)
	}
	if err := create(); err != nil {
		t.Fatal(err)
	}
	if err := create(); !errors.Is(err, eventstore.ErrConcurrency) {
		t.Fatalf("second create: %v, want a conflict", err)
	}
}

// Row changes a write model in the append's transaction: when it fails,
// the events are not kept either.
func TestUpdateRowCommitsWithTheEvents(t *testing.T) {
	pool := testenv.Pool(t)
	store := eventstore.New(pool)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS stock_rows (key text PRIMARY KEY, on_hand int NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	key := "sku-" + uuid.NewString()
	stream := domain.InventoryStream(shop, key)
	failing := errors.New("row refused")
	_, err := app.Update(ctx, store, stream, app.LoadInventory(shop, key), adjust(2),
		app.Row(func(pgx.Tx, *domain.Inventory) error { return failing }))
	if !errors.Is(err, failing) {
		t.Fatalf("err %v, want the row's", err)
	}
	if _, err := store.ReadStream(ctx, stream, 1); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("the failed row's events were kept: %v", err)
	}
	// A Row for another aggregate type is a programming error, not a silent no-op.
	_, err = app.Update(ctx, store, stream, app.LoadInventory(shop, key), adjust(2),
		app.Row(func(pgx.Tx, *domain.Order) error { return nil }))
	if err == nil {
		t.Fatal("a Row of *domain.Order on an inventory update was accepted")
	}
	var rows int
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := app.Update(ctx, store, stream, app.LoadInventory(shop, key), adjust(2), app.InTx(tx),
			app.Row(func(tx pgx.Tx, inv *domain.Inventory) error {
				_, err := tx.Exec(ctx, `INSERT INTO stock_rows VALUES ($1, $2)`, key, inv.Snapshot().OnHand)
				return err
			}))
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT on_hand FROM stock_rows WHERE key = $1`, key).Scan(&rows)
	}); err != nil {
		t.Fatal(err)
	}
	if rows != 2 {
		t.Fatalf("row holds %d on hand, want the updated aggregate's 2", rows)
	}
}

// In a batch, decisions on one stream see what the batch already plans, and
// nothing is stored until the batch commits, all at once, with the ids
// EventIDs gives.
func TestUpdateIntoABatch(t *testing.T) {
	store := eventstore.New(testenv.Pool(t))
	ctx := context.Background()
	key := "sku-" + uuid.NewString()
	stream := domain.InventoryStream(shop, key)
	var given []uuid.UUID
	ids := app.EventIDs(func(stream string, events []eventstore.NewEvent) []eventstore.NewEvent {
		for i := range events {
			events[i].ID = uuid.NewSHA1(uuid.NameSpaceURL, []byte(stream+"/"+strconv.Itoa(len(given))))
			given = append(given, events[i].ID)
		}
		return events
	})
	plan := func() *app.Batch {
		b := app.NewBatch(store)
		for _, delta := range []int{4, 3} {
			res, err := app.Update(ctx, store, stream, app.LoadInventory(shop, key), adjust(delta), app.Into(b), ids)
			if err != nil {
				t.Fatal(err)
			}
			if delta == 3 && (res.Aggregate.Snapshot().OnHand != 7 || res.Appended.Version != 2) {
				t.Fatalf("second decision in the batch: on hand %d at version %d, want 7 at 2",
					res.Aggregate.Snapshot().OnHand, res.Appended.Version)
			}
		}
		return b
	}
	b := plan()
	if _, err := store.ReadStream(ctx, stream, 1); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("a batch not committed stored events: %v", err)
	}
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	events, err := store.ReadStream(ctx, stream, 1)
	if err != nil || len(events) != 2 {
		t.Fatalf("after the commit the stream has %d events (%v), want 2", len(events), err)
	}
	for i, e := range events {
		if e.ID != given[i] {
			t.Errorf("event %d has id %s, want %s from EventIDs", e.StreamVersion, e.ID, given[i])
		}
	}
	_, err = app.Update(ctx, store, stream, app.LoadInventory(shop, key), adjust(4), app.Into(app.NewBatch(store)),
		app.Expect(eventstore.Exact(1)))
	if !errors.Is(err, eventstore.ErrConcurrency) {
		t.Fatalf("Expect(1) on a stream at version 2: %v, want a conflict", err)
	}
}
