package eventstore_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// Reading a few streams reads only them, however much the table has grown
// since the connection planned the statement: with stream_id = ANY, the
// plan made while events was nearly empty (no ANALYZE ran to remake it)
// scanned the whole table for every read.
func TestReadStreamsReadOnlyTheirStreams(t *testing.T) {
	db := testenv.WithoutStatistics(t, "events")
	store := eventstore.New(db.Conn)
	ctx := context.Background()
	read := func() {
		t.Helper()
		a, b := "order-plan-"+uuid.NewString(), "order-plan-"+uuid.NewString()
		for _, stream := range []string{a, b} {
			if _, err := store.Append(ctx, stream, eventstore.NoStream, ev("t.one", 1), ev("t.two", 2)); err != nil {
				t.Fatal(err)
			}
		}
		all, err := store.ReadStreams(ctx, []string{a, b})
		if err != nil || len(all[a]) != 2 || len(all[b]) != 2 {
			t.Fatalf("read streams: %v, %v", all, err)
		}
		tails, err := store.ReadStreamTails(ctx, map[string]int64{a: 2, b: 3})
		if err != nil || len(tails) != 1 || len(tails[a]) != 1 {
			t.Fatalf("read tails: %v, %v", tails, err)
		}
	}
	for range 10 {
		read()
	}
	if _, err := db.Admin.Exec(ctx, `INSERT INTO events (event_id, stream_id, stream_version, event_type, tenant_id, data)
		SELECT gen_random_uuid(), 'order-' || gen_random_uuid(), 1, 't.filler', 'shop.test', '{}'
		FROM generate_series(1, 20000)`); err != nil {
		t.Fatal(err)
	}
	before := db.RowsRead(t)
	read()
	if n := db.RowsRead(t) - before; n > 100 {
		t.Errorf("reading two streams of two events read %d rows of events", n)
	}
}
