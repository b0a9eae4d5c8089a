package app

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// A prefetch reads every stream the decisions ask for, in one query, and
// plans nothing itself.
func TestBatchPrefetchReadsEveryStreamOnce(t *testing.T) {
	ctx := context.Background()
	store := eventstore.New(testenv.Pool(t))
	for _, s := range []string{"order-x", "order-y"} {
		if _, err := store.Append(ctx, s, eventstore.NoStream,
			eventstore.NewEvent{Type: "t.one", Tenant: "a.myshopify.com", Data: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	b := NewBatch(store)
	asked := 0
	err := b.Prefetch(ctx, func() error {
		for _, s := range []string{"order-x", "order-y", "order-z"} {
			asked++
			if _, err := b.history(ctx, s); err != errMissing {
				t.Errorf("history of %s while collecting: %v, want errMissing", s, err)
			}
		}
		b.add(eventstore.StreamAppend{Stream: "order-x"})
		return errMissing
	})
	if err != nil {
		t.Fatal(err)
	}
	if asked != 3 || len(b.appends) != 0 || b.missing != nil {
		t.Fatalf("asked %d, batch left with %d appends, missing %v", asked, len(b.appends), b.missing)
	}
	for s, want := range map[string]int{"order-x": 1, "order-y": 1, "order-z": 0} {
		stored, ok := b.stored[s]
		if !ok || len(stored) != want {
			t.Errorf("%s: prefetched %v (%d events), want %d events", s, ok, len(stored), want)
		}
	}
	// Now every decision is served from what was read.
	if h, err := b.history(ctx, "order-y"); err != nil || len(h) != 1 {
		t.Errorf("history of order-y after the prefetch: %d events, %v", len(h), err)
	}
}
