package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// A shop's verify run records how far it has come while it walks the
// shop's events, ends at the total it announced, and stores its verdict;
// a second start while it runs is refused.
func TestShopRunRecordsProgress(t *testing.T) {
	ctx := context.Background()
	store := eventstore.New(testenv.Pool(t))
	const shop, streams, perStream = "progress.myshopify.com", 6, 200
	for i := range streams {
		events := make([]eventstore.NewEvent, perStream)
		for v := range events {
			events[v] = eventstore.NewEvent{Type: "t.step", Tenant: shop, Data: json.RawMessage(fmt.Sprintf(`{"n": %d}`, v))}
		}
		if _, err := store.Append(ctx, fmt.Sprintf("order-p%d", i), eventstore.Exact(0), events...); err != nil {
			t.Fatal(err)
		}
	}
	// Another shop's events are neither counted nor walked.
	if _, err := store.Append(ctx, "order-other", eventstore.Exact(0), eventstore.NewEvent{Type: "t.step", Tenant: "other.myshopify.com",
		Data: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	log := New(store)
	if _, err := log.LatestShopRun(ctx, shop); !errors.Is(err, ErrNoShopRun) {
		t.Fatalf("before any run: %v", err)
	}
	run, err := log.StartShopRun(ctx, shop)
	if err != nil {
		t.Fatal(err)
	}
	const total = streams * perStream
	if run.EventsTotal != total || run.StreamsTotal != streams {
		t.Fatalf("started with totals %d events, %d streams; want %d, %d", run.EventsTotal, run.StreamsTotal, total, streams)
	}
	if _, err := log.StartShopRun(ctx, shop); !errors.Is(err, ErrShopRunInProgress) {
		t.Fatalf("a second start while the first runs: %v", err)
	}

	var seen []int64 // events_checked as the page would read it, at each report
	done, err := log.RunShop(ctx, run, AuditOptions{Progress: func(int64) {
		cur, err := log.LatestShopRun(ctx, shop)
		if err != nil {
			t.Fatal(err)
		}
		if cur.ID != run.ID || cur.FinishedAt != nil || cur.EventsTotal != total {
			t.Fatalf("while running: %+v", cur)
		}
		seen = append(seen, cur.EventsChecked)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 3 || seen[0] <= 0 || seen[0] >= total || seen[len(seen)-1] != total {
		t.Fatalf("progress reports %v; want several, the first partial, the last %d", seen, total)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("progress did not advance: %v", seen)
		}
	}

	got, err := log.LatestShopRun(ctx, shop)
	if err != nil {
		t.Fatal(err)
	}
	if got.FinishedAt == nil || got.EventsChecked != total || got.EventsTotal != total || got.Report == nil ||
		!got.Report.OK() || got.Report.Events != total || got.Report.Streams != streams || got.Error != "" ||
		done.Report == nil || done.FinishedAt == nil {
		t.Fatalf("finished run: %+v (report %+v); RunShop returned %+v", got, got.Report, done)
	}
	if _, err := log.StartShopRun(ctx, shop); err != nil {
		t.Fatalf("a new run after the first finished: %v", err)
	}
}
