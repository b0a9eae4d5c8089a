package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// groupedAppend is one AppendGrouped call of a test.
type groupedAppend struct {
	stream string
	event  eventstore.NewEvent
	err    error
}

// appendAllAtOnce releases every append at the same moment, so they queue
// together and share batches.
func appendAllAtOnce(store *eventstore.Store, appends []*groupedAppend) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, a := range appends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, a.err = store.AppendGrouped(context.Background(), a.stream, eventstore.NoStream, a.event)
		}()
	}
	close(start)
	wg.Wait()
}

func TestAppendGroupedAnswersEachAppendAlone(t *testing.T) {
	pool := testenv.Pool(t)
	store := eventstore.New(pool)
	ctx := context.Background()
	taken := ev("t.first", 0)
	taken.ID = uuid.New()
	if _, err := store.Append(ctx, "webhook-taken", eventstore.NoStream, taken); err != nil {
		t.Fatal(err)
	}
	var appends, fresh, dupStream, sameStream, dupID []*groupedAppend
	for i := range 60 {
		a := &groupedAppend{stream: fmt.Sprintf("webhook-fresh-%d", i), event: ev("t.fresh", i)}
		switch {
		case i < 4:
			a.stream = "webhook-taken" // a redelivery: nothing stored, a conflict
			dupStream = append(dupStream, a)
		case i < 10:
			a.stream = "webhook-same" // concurrent deliveries: exactly one stored
			sameStream = append(sameStream, a)
		case i < 12:
			a.event.ID = taken.ID // an event id already stored
			dupID = append(dupID, a)
		default:
			fresh = append(fresh, a)
		}
		appends = append(appends, a)
	}
	appendAllAtOnce(store, appends)

	for _, a := range fresh {
		if a.err != nil {
			t.Errorf("%s: %v", a.stream, a.err)
		}
	}
	for _, a := range dupStream {
		if !errors.Is(a.err, eventstore.ErrConcurrency) {
			t.Errorf("append to a taken stream: %v, want a conflict", a.err)
		}
	}
	won := 0
	for _, a := range sameStream {
		if a.err == nil {
			won++
		} else if !errors.Is(a.err, eventstore.ErrConcurrency) {
			t.Errorf("concurrent append to one stream: %v", a.err)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent appends to one stream succeeded, want 1", won, len(sameStream))
	}
	for _, a := range dupID {
		if !errors.Is(a.err, eventstore.ErrDuplicateEvent) {
			t.Errorf("append of a stored event id: %v, want ErrDuplicateEvent", a.err)
		}
	}
	var stored, transactions int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT transaction_id) FROM events
		WHERE stream_id LIKE 'webhook-fresh-%' OR stream_id IN ('webhook-taken', 'webhook-same')`).Scan(&stored, &transactions); err != nil {
		t.Fatal(err)
	}
	if want := len(fresh) + 2; stored != want {
		t.Errorf("%d events stored, want %d", stored, want)
	}
	if transactions >= stored-1 {
		t.Errorf("%d events in %d transactions: the appends were not grouped", stored, transactions)
	}
	for _, a := range fresh {
		events, err := store.ReadStream(ctx, a.stream, 1)
		if err != nil || len(events) != 1 || string(events[0].Data) != string(a.event.Data) ||
			events[0].Metadata != a.event.Metadata {
			t.Fatalf("%s: %v %+v", a.stream, err, events)
		}
	}
}

func TestAppendGroupedFailureFailsOnlyItsAppend(t *testing.T) {
	pool := testenv.Pool(t)
	store := eventstore.New(pool)
	var appends []*groupedAppend
	for i := range 40 {
		appends = append(appends, &groupedAppend{stream: fmt.Sprintf("webhook-ok-%d", i), event: ev("t.ok", i)})
	}
	// Refused by the table's CHECK on stream ids: it fails its batch's statement.
	bad := &groupedAppend{stream: "Not A Stream", event: ev("t.bad", 0)}
	appends = append(appends[:20], append([]*groupedAppend{bad}, appends[20:]...)...)
	appendAllAtOnce(store, appends)
	if bad.err == nil {
		t.Fatal("an append to an invalid stream id succeeded")
	}
	for _, a := range appends {
		if a != bad && a.err != nil {
			t.Errorf("%s failed with another append's error: %v", a.stream, a.err)
		}
	}
	var stored int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE stream_id LIKE 'webhook-ok-%'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != len(appends)-1 {
		t.Errorf("%d events stored, want %d", stored, len(appends)-1)
	}
}

// Senders that each append again as soon as their last append is answered
// (webhook deliveries at capacity) arrive one by one. While a batch is
// written the next gathers, so they share transactions rather than each
// taking a writer that happens to be idle.
func TestAppendGroupedGathersWhileABatchIsWritten(t *testing.T) {
	pool := testenv.Pool(t)
	store := eventstore.New(pool)
	const senders, each = 16, 25
	errs := make(chan error, senders)
	for s := range senders {
		go func() {
			for i := range each {
				_, err := store.AppendGrouped(context.Background(), fmt.Sprintf("webhook-gather-%d-%d", s, i),
					eventstore.NoStream, ev("t.gather", i))
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range senders {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var stored, transactions int
	if err := pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT transaction_id)
		FROM events WHERE stream_id LIKE 'webhook-gather-%'`).Scan(&stored, &transactions); err != nil {
		t.Fatal(err)
	}
	if stored != senders*each {
		t.Fatalf("%d events stored, want %d", stored, senders*each)
	}
	// A batch holds about the senders that arrived while the one before it
	// was written (eight here); writers starting a batch whenever one of
	// them was idle made about three.
	if transactions > stored/4 {
		t.Errorf("%d appends from %d senders were written in %d transactions", stored, senders, transactions)
	}
}

// An append whose caller has given up before its batch starts is answered
// with an error and not written, while the rest of its batch is.
func TestAppendGroupedSkipsAppendsWhoseCallerGaveUp(t *testing.T) {
	pool := testenv.Pool(t)
	store := eventstore.New(pool)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := store.AppendGrouped(gone, "webhook-gone-alone", eventstore.NoStream, ev("t.gone", 0)); err == nil {
		t.Error("an append whose caller had given up succeeded")
	}
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		ctx := context.Background()
		if i%2 == 1 {
			ctx = gone
		}
		wg.Go(func() {
			_, errs[i] = store.AppendGrouped(ctx, fmt.Sprintf("webhook-gone-%d", i), eventstore.NoStream, ev("t.gone", i))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (err != nil) != (i%2 == 1) {
			t.Errorf("append %d (caller gone: %v): %v", i, i%2 == 1, err)
		}
	}
	var stored []string
	rows, err := pool.Query(context.Background(), `SELECT stream_id FROM events WHERE stream_id LIKE 'webhook-gone-%' ORDER BY stream_id`)
	if err != nil {
		t.Fatal(err)
	}
	if stored, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(errs)/2 {
		t.Errorf("stored %v, want only the %d appends whose callers waited", stored, len(errs)/2)
	}
	for _, s := range stored {
		var i int
		if _, err := fmt.Sscanf(s, "webhook-gone-%d", &i); err != nil || i%2 == 1 {
			t.Errorf("stored %s, whose caller had given up", s)
		}
	}
}
