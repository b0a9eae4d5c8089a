package eventstore_test

import (
	"context"
	"sync"
	"testing"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// Writers racing on one hot stream (a SKU's stock reserved by many orders at
// once) all land: each conflict is retried on fresh history.
func TestUpdateRetriesConflictsOnAHotStream(t *testing.T) {
	store := eventstore.New(testenv.Pool(t))
	ctx := context.Background()
	const writers = 16
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			_, err := store.Update(ctx, "stock-hot", eventstore.AnyVersion, func(history []eventstore.Event) ([]eventstore.NewEvent, error) {
				return []eventstore.NewEvent{ev("stock.reserved", i)}, nil
			})
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
	events, err := store.ReadStream(ctx, "stock-hot", 1)
	if err != nil || len(events) != writers {
		t.Fatalf("stream has %d events (%v), want %d", len(events), err, writers)
	}
}
