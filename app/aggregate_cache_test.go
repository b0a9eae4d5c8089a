package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// Through a cache, an update of a long stream reads and applies only what
// was appended since the cache last saw it, and still decides on the whole
// history, writes of other processes included.
func TestCachedUpdateReadsOnlyWhatIsNew(t *testing.T) {
	db := testenv.WithoutStatistics(t, "events")
	store := eventstore.New(db.Conn)
	ctx := context.Background()
	key := "long-" + uuid.NewString()
	stream := domain.InventoryStream(shop, key)
	const long = 200
	for range long {
		if _, err := app.Update(ctx, store, stream, app.LoadInventory(shop, key), adjust(1), app.By(shop, eventstore.Metadata{})); err != nil {
			t.Fatal(err)
		}
	}
	cache := app.NewAggregateCache(8)
	loads := 0
	load := func(history []domain.Event) (*domain.Inventory, error) {
		loads++
		return app.LoadInventory(shop, key)(history)
	}
	update := func() app.Result[*domain.Inventory] {
		t.Helper()
		res, err := app.Update(ctx, store, stream, load, adjust(1),
			app.By(shop, eventstore.Metadata{}), app.Cached(cache))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	update() // reads the whole stream once
	before := db.RowsRead(t)
	res := update()
	if n := db.RowsRead(t) - before; n > 5 {
		t.Errorf("a cached update read %d rows of a %d-event stream", n, long+1)
	}
	if got := res.Aggregate.Snapshot().OnHand; got != long+2 || res.Appended.Version != long+2 {
		t.Errorf("on hand %d at version %d, want %d at %d", got, res.Appended.Version, long+2, long+2)
	}
	// Another writer, without the cache: the next cached update reads its event.
	if _, err := app.Update(ctx, store, stream, app.LoadInventory(shop, key), adjust(10), app.By(shop, eventstore.Metadata{})); err != nil {
		t.Fatal(err)
	}
	res = update()
	if got := res.Aggregate.Snapshot().OnHand; got != long+13 || res.Appended.Version != long+4 {
		t.Errorf("after another writer: on hand %d at version %d, want %d at %d", got, res.Appended.Version, long+13, long+4)
	}
	if loads != 1 {
		t.Errorf("the history was replayed %d times, want once", loads)
	}
}

// In a batch, cached aggregates are read in one query, carry what the batch
// plans, go back to the cache when it commits, and are dropped with a
// rewound plan or a failed commit, so no later update decides on events
// that were never stored.
func TestCachedUpdatesInABatch(t *testing.T) {
	db := testenv.WithoutStatistics(t, "events")
	store := eventstore.New(db.Conn)
	ctx := context.Background()
	cache := app.NewAggregateCache(8)
	run := uuid.NewString()
	keys := []string{"a-" + run, "b-" + run}
	streams := []string{domain.InventoryStream(shop, keys[0]), domain.InventoryStream(shop, keys[1])}
	loads := 0
	update := func(i, delta int, opts ...app.Option) app.Result[*domain.Inventory] {
		t.Helper()
		load := func(history []domain.Event) (*domain.Inventory, error) {
			loads++
			return app.LoadInventory(shop, keys[i])(history)
		}
		res, err := app.Update(ctx, store, streams[i], load, adjust(delta),
			append([]app.Option{app.By(shop, eventstore.Metadata{}), app.Cached(cache)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for range 50 {
		update(0, 1)
		update(1, 1)
	}
	onHand := func(i int) int {
		t.Helper()
		res, err := app.Update(ctx, store, streams[i], app.LoadInventory(shop, keys[i]),
			func(*domain.Inventory) ([]domain.Event, error) { return nil, nil })
		if err != nil {
			t.Fatal(err)
		}
		return res.Aggregate.Snapshot().OnHand
	}

	loads = 0
	// Two decisions on one stream in a batch decide in turn.
	b := app.NewBatch(store)
	if err := b.PrefetchCached(ctx, cache, append(streams, streams...)...); err != nil { // each named twice
		t.Fatal(err)
	}
	update(0, 2, app.Into(b))
	if res := update(0, 3, app.Into(b)); res.Aggregate.Snapshot().OnHand != 55 || res.Appended.Version != 52 {
		t.Fatalf("second decision in the batch: on hand %d at version %d, want 55 at 52", res.Aggregate.Snapshot().OnHand, res.Appended.Version)
	}
	// A rewound plan takes its events off the aggregate too.
	mark := b.Mark()
	update(1, 100, app.Into(b))
	b.Rewind(mark)
	if res := update(1, 4, app.Into(b)); res.Aggregate.Snapshot().OnHand != 54 {
		t.Fatalf("after a rewound plan: on hand %d, want 54", res.Aggregate.Snapshot().OnHand)
	}
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if loads != 1 {
		t.Errorf("the batch replayed %d histories, want only the rewound one's", loads)
	}
	before := db.RowsRead(t)
	if res := update(0, 1); res.Aggregate.Snapshot().OnHand != 56 || res.Appended.Version != 53 {
		t.Fatalf("after the commit: on hand %d at version %d, want 56 at 53", res.Aggregate.Snapshot().OnHand, res.Appended.Version)
	}
	if n := db.RowsRead(t) - before; n > 5 {
		t.Errorf("an update after the batch read %d rows: the batch did not give its aggregate back", n)
	}

	// A commit that loses to another writer leaves nothing of it cached.
	b = app.NewBatch(store)
	update(0, 1000, app.Into(b))
	if _, err := app.Update(ctx, store, streams[0], app.LoadInventory(shop, keys[0]), adjust(10), app.By(shop, eventstore.Metadata{})); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(ctx); !errors.Is(err, eventstore.ErrConcurrency) {
		t.Fatalf("commit after another writer: %v, want a version conflict", err)
	}
	if res := update(0, 1); res.Aggregate.Snapshot().OnHand != 67 || onHand(0) != 67 {
		t.Fatalf("after a lost commit: on hand %d (stored %d), want 67", res.Aggregate.Snapshot().OnHand, onHand(0))
	}
}
