package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

func ev(typ string, n int) eventstore.NewEvent {
	return eventstore.NewEvent{Type: typ, Tenant: "shop.test", Data: json.RawMessage(fmt.Sprintf(`{"n": %d}`, n)),
		Metadata: eventstore.Metadata{CorrelationID: "corr-1", CausationID: "cause-1"}}
}

func TestAppendExpectedVersions(t *testing.T) {
	store := eventstore.New(testenv.Pool(t))
	ctx := context.Background()

	res, err := store.Append(ctx, "order-a", eventstore.NoStream, ev("t.one", 1), ev("t.two", 2))
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 2 || len(res.Events) != 2 || res.Events[1].StreamVersion != 2 {
		t.Fatalf("unexpected result %+v", res)
	}
	cases := []struct {
		name     string
		expected eventstore.ExpectedVersion
		conflict bool
	}{
		{"no stream on existing stream", eventstore.NoStream, true},
		{"stale exact version", eventstore.Exact(1), true},
		{"future exact version", eventstore.Exact(7), true},
		{"right exact version", eventstore.Exact(2), false},
		{"any version", eventstore.AnyVersion, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := store.Append(ctx, "order-a", c.expected, ev("t.next", 0))
			if got := errors.Is(err, eventstore.ErrConcurrency); got != c.conflict {
				t.Fatalf("conflict = %v (err %v), want %v", got, err, c.conflict)
			}
		})
	}
	events, err := store.ReadStream(ctx, "order-a", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 4 {
		t.Fatalf("stream has %d events, want 4", len(events))
	}
	for i, e := range events {
		if e.StreamVersion != int64(i+1) {
			t.Fatalf("event %d has version %d", i, e.StreamVersion)
		}
		if e.Metadata.CorrelationID != "corr-1" || e.Metadata.CausationID != "cause-1" {
			t.Fatalf("metadata lost: %+v", e.Metadata)
		}
	}
	if _, err := store.ReadStream(ctx, "order-missing", 1); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("missing stream: %v", err)
	}
}

// One query reads each stream's events from the version asked for on.
func TestReadStreamTails(t *testing.T) {
	store := eventstore.New(testenv.Pool(t))
	ctx := context.Background()
	run := uuid.NewString()
	a, b, none := "order-tail-a-"+run, "order-tail-b-"+run, "order-tail-none-"+run
	for stream, n := range map[string]int{a: 5, b: 3} {
		for i := range n {
			if _, err := store.Append(ctx, stream, eventstore.Exact(int64(i)), ev("t.n", i+1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := store.ReadStreamTails(ctx, map[string]int64{a: 4, b: 4, none: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[a]) != 2 || got[a][0].StreamVersion != 4 || got[a][1].StreamVersion != 5 {
		t.Fatalf("tails: %v", got)
	}
	var n struct{ N int }
	if err := json.Unmarshal(got[a][1].Data, &n); err != nil || n.N != 5 {
		t.Fatalf("the last event of %s: %s, %v", a, got[a][1].Data, err)
	}
}

// Several streams in one append commit together or not at all, and a stream
// named twice continues where its first part ended.
func TestAppendStreamsIsAllOrNothing(t *testing.T) {
	store := eventstore.New(testenv.Pool(t))
	ctx := context.Background()
	if _, err := store.Append(ctx, "order-held", eventstore.NoStream, ev("t.one", 1)); err != nil {
		t.Fatal(err)
	}
	_, err := store.AppendStreams(ctx,
		eventstore.StreamAppend{Stream: "order-new", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{ev("t.one", 1)}},
		eventstore.StreamAppend{Stream: "order-other", Expected: eventstore.AnyVersion, Events: []eventstore.NewEvent{ev("t.one", 1)}},
		eventstore.StreamAppend{Stream: "order-held", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{ev("t.two", 2)}})
	var conflict *eventstore.ConflictError
	if !errors.As(err, &conflict) || conflict.Stream != "order-held" {
		t.Fatalf("err = %v, want a conflict on order-held", err)
	}
	for _, s := range []string{"order-new", "order-other"} {
		if _, err := store.ReadStream(ctx, s, 1); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Errorf("%s after a failed append: %v, want no stream", s, err)
		}
	}

	res, err := store.AppendStreams(ctx,
		eventstore.StreamAppend{Stream: "order-new", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{ev("t.one", 1), ev("t.two", 2)}},
		eventstore.StreamAppend{Stream: "order-held", Expected: eventstore.Exact(1), Events: []eventstore.NewEvent{ev("t.two", 2)}},
		eventstore.StreamAppend{Stream: "order-new", Expected: eventstore.Exact(2), Events: []eventstore.NewEvent{ev("t.three", 3)}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Version != 2 || res[1].Version != 2 || res[2].Version != 3 || res[2].Events[0].Type != "t.three" {
		t.Fatalf("results %+v", res)
	}
	if res[0].Position.TransactionID != res[2].Position.TransactionID || !res[2].Position.After(res[0].Position) {
		t.Errorf("positions %v and %v: want one transaction, in append order", res[0].Position, res[2].Position)
	}
	events, err := store.ReadStream(ctx, "order-new", 1)
	if err != nil || len(events) != 3 || string(events[2].Data) != `{"n": 3}` {
		t.Fatalf("order-new holds %v, %v", events, err)
	}
}

// Appends that all name their versions go to Postgres as one statement; a
// refusal still names its stream and its kind, and stores nothing.
func TestAppendStreamsWithExactVersionsFailsPrecisely(t *testing.T) {
	store := eventstore.New(testenv.Pool(t))
	ctx := context.Background()
	if _, err := store.Append(ctx, "order-b", eventstore.NoStream, ev("t.one", 1)); err != nil {
		t.Fatal(err)
	}
	exact := func(stream string, v int64, events ...eventstore.NewEvent) eventstore.StreamAppend {
		return eventstore.StreamAppend{Stream: stream, Expected: eventstore.Exact(v), Events: events}
	}
	_, err := store.AppendStreams(ctx, exact("order-c", 0, ev("t.one", 1)), exact("order-b", 0, ev("t.one", 1)),
		exact("order-a", 0, ev("t.one", 1)))
	var conflict *eventstore.ConflictError
	if !errors.As(err, &conflict) || conflict.Stream != "order-b" {
		t.Fatalf("err = %v, want a conflict on order-b", err)
	}
	// A version past the stream's end is a gap, refused as a conflict too.
	_, err = store.AppendStreams(ctx, exact("order-a", 0, ev("t.one", 1)), exact("order-b", 3, ev("t.two", 2)))
	if !errors.As(err, &conflict) || conflict.Stream != "order-b" {
		t.Fatalf("err = %v, want a conflict on order-b", err)
	}
	dup := ev("t.one", 1)
	dup.ID = uuid.New()
	if _, err := store.Append(ctx, "job-1", eventstore.NoStream, dup); err != nil {
		t.Fatal(err)
	}
	_, err = store.AppendStreams(ctx, exact("order-a", 0, ev("t.one", 1)), exact("job-2", 0, dup))
	if !errors.Is(err, eventstore.ErrDuplicateEvent) {
		t.Fatalf("err = %v, want a duplicate event", err)
	}
	for _, s := range []string{"order-a", "order-c", "job-2"} {
		if _, err := store.ReadStream(ctx, s, 1); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Errorf("%s after failed appends: %v, want no stream", s, err)
		}
	}
	if events, err := store.ReadStream(ctx, "order-b", 1); err != nil || len(events) != 1 {
		t.Fatalf("order-b holds %v, %v; want its one event", events, err)
	}

	res, err := store.AppendStreams(ctx, exact("order-c", 0, ev("t.one", 1), ev("t.two", 2)), exact("order-b", 1, ev("t.two", 2)))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Stream != "order-c" || res[0].Version != 2 || len(res[0].Events) != 2 || res[0].Events[1].Type != "t.two" ||
		string(res[0].Events[1].Data) != `{"n": 2}` || res[1].Stream != "order-b" || res[1].Version != 2 ||
		res[1].Position != res[1].Events[0].Position || res[0].Position.TransactionID != res[1].Position.TransactionID {
		t.Fatalf("results %+v", res)
	}
	// One statement, its rows in stream order: order-b's event comes first
	// (appended stream by stream, order-c's would).
	if !res[0].Events[0].Position.After(res[1].Position) {
		t.Errorf("order-c at %v, order-b at %v: want one statement in stream order", res[0].Events[0].Position, res[1].Position)
	}
	if v, err := audit.New(store).Verify(ctx, nil); err != nil || len(v.Findings) != 0 || v.Events != 5 {
		t.Fatalf("hash chains after a combined append: %+v, %v", v, err)
	}
}

func TestDuplicateEventIDIsTyped(t *testing.T) {
	store := eventstore.New(testenv.Pool(t))
	ctx := context.Background()
	e := ev("t.once", 1)
	e.ID = uuid.New()
	if _, err := store.Append(ctx, "job-1", eventstore.AnyVersion, e); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(ctx, "job-1", eventstore.AnyVersion, e); !errors.Is(err, eventstore.ErrDuplicateEvent) {
		t.Fatalf("second append of the same event id: %v", err)
	}
}

func TestConcurrentAppendsSameVersionExactlyOneWins(t *testing.T) {
	store := eventstore.New(testenv.Pool(t))
	ctx := context.Background()
	if _, err := store.Append(ctx, "order-race", eventstore.NoStream, ev("t.start", 0)); err != nil {
		t.Fatal(err)
	}
	const writers = 20
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		ok        int
		conflicts int
		others    []error
	)
	start := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := store.Append(ctx, "order-race", eventstore.Exact(1), ev("t.race", i))
			mu.Lock()
			defer mu.Unlock()
			var ce *eventstore.ConflictError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &ce) && ce.Stream == "order-race":
				conflicts++
			default:
				others = append(others, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok != 1 || conflicts != writers-1 || len(others) > 0 {
		t.Fatalf("ok=%d conflicts=%d others=%v", ok, conflicts, others)
	}
}

// Writers hold their transactions open for random moments so positions commit
// out of order; a reader following ReadAll must still see every committed
// event exactly once and never one from a rolled-back transaction.
func TestReadAllNeverSkipsUnderConcurrentWriters(t *testing.T) {
	pool := testenv.Pool(t)
	store := eventstore.New(pool)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	const (
		writers   = 16
		perWriter = 1250 // 20,000 events in all
	)
	var (
		mu         sync.Mutex
		committed  = map[uuid.UUID]bool{}
		rolledBack = map[uuid.UUID]bool{}
		wg         sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for i := 0; i < perWriter; {
				batch := min(1+rng.IntN(3), perWriter-i)
				events := make([]eventstore.NewEvent, batch)
				for j := range events {
					events[j] = ev("t.load", i+j)
					events[j].ID = uuid.New()
				}
				rollback := rng.IntN(20) == 0
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					if _, err := eventstore.AppendTx(ctx, tx, eventstore.StreamAppend{
						Stream: fmt.Sprintf("load-%d-%d", w, i), Expected: eventstore.NoStream, Events: events}); err != nil {
						return err
					}
					time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
					if rollback {
						return errRollback
					}
					return nil
				})
				mu.Lock()
				for _, e := range events {
					if rollback {
						rolledBack[e.ID] = true
					} else {
						committed[e.ID] = true
					}
				}
				mu.Unlock()
				if rollback {
					if !errors.Is(err, errRollback) {
						t.Errorf("rollback: %v", err)
						return
					}
					continue
				}
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
				i += batch
			}
		}()
	}
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()

	// Read until the writers are done and everything committed has been seen
	// (a transaction still open anywhere on the server holds visibility back,
	// so "done" is not "visible"), or until the deadline says something is lost.
	seen := map[uuid.UUID]int{}
	pos := eventstore.Start
	writing := true
	for {
		events, err := store.ReadAll(ctx, pos, 300)
		if err != nil {
			t.Fatalf("read all: %v (saw %d events)", err, len(seen))
		}
		for _, e := range events {
			if !e.Position.After(pos) {
				t.Fatalf("position went backwards: %v after %v", e.Position, pos)
			}
			pos = e.Position
			seen[e.ID]++
		}
		if len(events) > 0 {
			continue
		}
		if !writing && len(seen) >= writers*perWriter {
			break
		}
		select {
		case <-writersDone:
			writing = false
		case <-time.After(2 * time.Millisecond):
		}
	}
	if t.Failed() {
		return
	}
	// Anything rolled back or read twice would surface now that the reader is past every commit.
	if extra, err := store.ReadAll(ctx, pos, 300); err != nil || len(extra) > 0 {
		t.Fatalf("events after the last commit: %d (err %v)", len(extra), err)
	}
	if len(committed) != writers*perWriter {
		t.Fatalf("committed %d events, want %d", len(committed), writers*perWriter)
	}
	for id := range committed {
		if seen[id] != 1 {
			t.Fatalf("committed event %s seen %d times", id, seen[id])
		}
	}
	for id := range rolledBack {
		if seen[id] != 0 {
			t.Fatalf("rolled-back event %s was read", id)
		}
	}
	if len(seen) != len(committed) {
		t.Fatalf("reader saw %d distinct events, %d committed", len(seen), len(committed))
	}
	t.Logf("%d events committed, %d rolled back, all read exactly once", len(committed), len(rolledBack))
}

var errRollback = errors.New("test rollback")

func TestEventsAreImmutable(t *testing.T) {
	pool := testenv.Pool(t)
	store := eventstore.New(pool)
	ctx := context.Background()
	if _, err := store.Append(ctx, "order-x", eventstore.NoStream, ev("t.one", 1)); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`UPDATE events SET data = '{}'`,
		`UPDATE events SET hash = '\x00'`,
		`DELETE FROM events`,
		`TRUNCATE events`,
	} {
		if _, err := pool.Exec(ctx, stmt); err == nil {
			t.Errorf("%s succeeded", stmt)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE data = '{"n": 1}'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("event changed: n=%d err=%v", n, err)
	}
}

func TestHashChainDetectsTampering(t *testing.T) {
	pool := testenv.Pool(t)
	store := eventstore.New(pool)
	ctx := context.Background()
	for i := range 3 {
		stream := fmt.Sprintf("order-%d", i)
		for v := range 4 {
			if _, err := store.Append(ctx, stream, eventstore.Exact(int64(v)), ev("t.step", v)); err != nil {
				t.Fatal(err)
			}
		}
	}
	res, err := audit.New(store).Verify(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || res.Events != 12 || res.Streams != 3 || len(res.Heads) != 3 {
		t.Fatalf("clean log: %+v", res)
	}

	// Test-only tampering: bypass the immutability trigger as the table owner would.
	tamper := func(stmt string) {
		t.Helper()
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `ALTER TABLE events DISABLE TRIGGER events_immutable_rows`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `ALTER TABLE events ENABLE TRIGGER events_immutable_rows`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	tamper(`UPDATE events SET data = '{"n": 99}' WHERE stream_id = 'order-1' AND stream_version = 2`)
	res, err = audit.New(store).Verify(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 {
		t.Fatalf("findings after altering data: %v", res.Findings)
	}
	f := res.Findings[0]
	if f.Kind != audit.FindingAltered || f.Stream != "order-1" || f.Version != 2 {
		t.Fatalf("finding does not name the altered event: %v", f)
	}

	tamper(`DELETE FROM events WHERE stream_id = 'order-2' AND stream_version = 3`)
	res, err = audit.New(store).Verify(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var missing bool
	for _, f := range res.Findings {
		if f.Stream == "order-2" && f.Kind == audit.FindingMissing && f.Version == 3 {
			missing = true
		}
	}
	if !missing {
		t.Fatalf("deleted event not reported: %v", res.Findings)
	}
}

func TestPositionTokens(t *testing.T) {
	p := eventstore.Position{TransactionID: 9000000001, GlobalPos: 42}
	got, err := eventstore.ParsePosition(p.String())
	if err != nil || got != p {
		t.Fatalf("round trip: %v %v", got, err)
	}
	for _, bad := range []string{"", "1", "a.b", "1.-2", "1.2.3"} {
		if _, err := eventstore.ParsePosition(bad); !errors.Is(err, eventstore.ErrBadPosition) {
			t.Errorf("ParsePosition(%q) = %v", bad, err)
		}
	}
	if !(eventstore.Position{TransactionID: 2, GlobalPos: 1}).After(eventstore.Position{TransactionID: 1, GlobalPos: 5}) {
		t.Error("a later transaction must come after, whatever its position")
	}
}

// Event data that jsonb would refuse (a lone surrogate, U+0000) or change
// (two equal keys, of which it keeps the last) is refused before it reaches
// the database, with the reason; nothing is stored.
func TestAppendRefusesJSONNotStoredAsSent(t *testing.T) {
	ctx := context.Background()
	store := eventstore.New(testenv.Pool(t))
	for _, data := range []string{`{"a":"\ud800"}`, `{"a":1,"a":2}`, `{"a":{"b":1,"b":1}}`, `{"a":"\u0000"}`, "{\"a\":\"\xff\"}"} {
		_, err := store.Append(ctx, "strict-1", eventstore.AnyVersion, eventstore.NewEvent{Type: "test.strict", Data: []byte(data)})
		var bad *domain.JSONError
		if !errors.As(err, &bad) {
			t.Errorf("append %s: %v, want a *domain.JSONError", data, err)
		}
	}
	if _, err := store.ReadStream(ctx, "strict-1", 1); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("something was stored: %v", err)
	}
	if _, err := store.Append(ctx, "strict-1", eventstore.NoStream, eventstore.NewEvent{Type: "test.strict",
		Data: []byte(`{"a":"\ud83d\ude00","b":{"a":1}}`)}); err != nil {
		t.Errorf("a surrogate pair and a key repeated in another object: %v", err)
	}
}
