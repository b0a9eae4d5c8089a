package eventstore

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/ordermill/ordermill/internal/testenv"
)

// Readers pick each metadata field out by name (eventColumns): one left out
// would vanish from every event read back and every relayed message.
func TestReadsReturnEveryMetadataField(t *testing.T) {
	ctx := context.Background()
	store := New(testenv.Pool(t))
	meta := Metadata{CorrelationID: "corr", CausationID: "cause", Actor: "user:1", RequestID: "req", Source: "api"}
	if reflect.TypeOf(meta).NumField() != 5 {
		t.Fatal("Metadata changed: select the new field in eventColumns, then fill it here")
	}
	var want []Event
	for i := range 3 {
		e := NewEvent{Type: "t.step", Tenant: "shop.test", Data: json.RawMessage(`{}`), Metadata: meta}
		if i == 2 {
			e.Metadata = Metadata{}
		}
		res, err := store.Append(ctx, "order-1", AnyVersion, e)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, res.Events...)
	}
	// ReadAll stops before transactions in flight anywhere on the server,
	// such as other packages' tests: wait until it reaches the appends.
	var all []Event
	for deadline := time.Now().Add(30 * time.Second); len(all) < len(want) && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var err error
		if all, err = store.ReadAll(ctx, Start, 10); err != nil {
			t.Fatal(err)
		}
	}
	stream, err := store.ReadStream(ctx, "order-1", 1)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]Event{"ReadAll": all, "ReadStream": stream} {
		if len(got) != len(want) {
			t.Fatalf("%s: %d events, want %d", name, len(got), len(want))
		}
		for i := range want {
			if got[i].ID != want[i].ID || got[i].Metadata != want[i].Metadata || string(got[i].Data) != "{}" {
				t.Errorf("%s event %d: %+v\nappended: %+v", name, i, got[i], want[i])
			}
		}
	}
}

// Reading several streams reads only their rows, however much the table has
// grown since the statement was first run. A plan kept from when events was
// nearly empty (no ANALYZE since: autovacuum off, or not yet) scanned the
// whole table on every call.
func TestReadStreamsReadsOnlyTheirRows(t *testing.T) {
	ctx := context.Background()
	admin, conn := testenv.WithoutStatistics(t, "events")
	store := New(conn)
	streams := []string{"order-1", "order-2", "order-3"}
	for _, s := range streams {
		if _, err := store.Append(ctx, s, NoStream, NewEvent{Type: "t.step", Tenant: "shop.test", Data: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		if _, err := store.ReadStreams(ctx, streams); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.Exec(ctx, `INSERT INTO events (event_id, stream_id, stream_version, event_type, tenant_id, data, metadata)
		SELECT gen_random_uuid(), 'other-' || g, 1, 't.step', 'shop.test', '{}', '{}' FROM generate_series(1, 20000) g`); err != nil {
		t.Fatal(err)
	}
	before := testenv.RowsRead(t, conn, admin, "events")
	got, err := store.ReadStreams(ctx, streams)
	if err != nil {
		t.Fatal(err)
	}
	if n := testenv.RowsRead(t, conn, admin, "events") - before; n > 100 {
		t.Errorf("reading 3 streams read %d rows of events", n)
	}
	if len(got) != len(streams) {
		t.Errorf("read %d streams, want %d", len(got), len(streams))
	}
}
