package app_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// Through a cache, an update of a long stream reads only what was appended
// since the cache last saw it, and still decides on the whole history,
// writes of other processes included.
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
	cache := app.NewStreamCache(8)
	update := func() app.Result[*domain.Inventory] {
		t.Helper()
		res, err := app.Update(ctx, store, stream, app.LoadInventory(shop, key), adjust(1),
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
}
