package projections

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
)

// upserting hides FoldBatch, so Rebuild upserts through ApplyBatch.
type upserting struct{ BatchProjector }

// TestOrdersBulkRebuildMatchesLive builds orders_view three ways: live, one
// event at a time; rebuilt with upserts; rebuilt with COPY. All three must
// hold the same rows, times with sub-microsecond fractions included.
func TestOrdersBulkRebuildMatchesLive(t *testing.T) {
	f := newFixture(t)
	p := NewOrders(nil, "")
	for i, frac := range []time.Duration{0, 500, 1500, 2500, 999_999_500, 123_456_789} {
		id := uuid.New()
		o := placed(id)
		o.PlacedAt = t0.Add(frac)
		events := []domain.Event{o, paid}
		switch i % 3 {
		case 0:
			events = append(events, domain.OrderCancelled{Reason: "customer", CancelledAt: cut.Add(frac)})
		case 1:
			id = domain.ShopifyOrderID(shop, int64(1000+i))
			o.OrderID, o.Source, o.ShopifyID, o.ShopifyUpdatedAt = id, domain.SourceShopify, int64(1000+i), t0.Add(frac)
			events = []domain.Event{o, domain.OrderSnapshotApplied{ShopifyUpdatedAt: cut.Add(frac)}}
		}
		for _, e := range f.appendEvents(t, domain.OrderStream(id), events...) {
			f.applyOnce(t, p, e, Applied)
		}
	}
	live := f.dump(t, p)
	for _, c := range []struct {
		name string
		p    BatchProjector
	}{{"upserting", upserting{p}}, {"copying", p}} {
		if _, ok := c.p.(BulkLoader); ok != (c.name == "copying") {
			t.Fatalf("%s rebuild: BulkLoader %v", c.name, ok)
		}
		// Batches of two events: each of several streams.
		if _, err := rebuild(f.ctx, f.store, c.p, 2, nil); err != nil {
			t.Fatalf("%s rebuild: %v", c.name, err)
		}
		f.requireDump(t, p, live, c.name+" rebuild")
	}
}

// TestPGTimeReadsLikePostgres: pgTime gives what Postgres makes of a time's
// JSON text, for any fraction of a second.
func TestPGTimeReadsLikePostgres(t *testing.T) {
	f := newFixture(t)
	var times []time.Time
	for _, ns := range []int64{0, 1, 499, 500, 501, 1500, 2500, 3500, 999_999_499, 999_999_500, 999_999_999} {
		times = append(times, t0.Add(time.Duration(ns)), t0.Add(time.Duration(ns)).In(time.FixedZone("", 5*3600+1800)))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		times = append(times, t0.Add(time.Duration(rng.Int64N(int64(365*24*time.Hour)))))
	}
	texts := make([]string, len(times))
	for i, tm := range times {
		b, err := tm.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		texts[i] = string(b[1 : len(b)-1])
	}
	rows, err := f.pool.Query(f.ctx, `SELECT t::timestamptz FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i) ORDER BY i`, texts)
	if err != nil {
		t.Fatal(err)
	}
	read, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		t.Fatal(err)
	}
	for i, tm := range times {
		if got := pgTime(tm); !got.Equal(read[i]) {
			t.Errorf("%s: pgTime gives %s, Postgres %s", texts[i], got.Format(time.RFC3339Nano), read[i].Format(time.RFC3339Nano))
		}
	}
}

// TestRebuildFailsOnAStreamItCannotReplay: the error of one batch, folded
// beside others, ends the whole rebuild and names the stream.
func TestRebuildFailsOnAStreamItCannotReplay(t *testing.T) {
	f := newFixture(t)
	for range 20 {
		id := uuid.New()
		f.appendEvents(t, domain.OrderStream(id), placed(id), paid)
	}
	bad := domain.OrderStream(uuid.New())
	f.appendEvents(t, bad, paid) // no order.placed before it
	if _, err := rebuild(f.ctx, f.store, NewOrders(nil, ""), 3, nil); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("rebuild: %v, want an error naming %s", err, bad)
	}
}
