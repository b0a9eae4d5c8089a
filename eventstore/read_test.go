package eventstore

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/ordermill/ordermill/internal/testenv"
)

// Readers decode rows themselves (decodeEvent): every column must come back
// as appended, and every metadata field, or it would vanish from every event
// read back and every relayed message.
func TestReadsReturnEveryColumn(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	store := New(pool)
	meta := Metadata{CorrelationID: "corr", CausationID: "cause", Actor: "user:1", RequestID: "req", Source: "api",
		TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	if reflect.TypeOf(meta).NumField() != 6 {
		t.Fatal("Metadata changed: select the new field in EventColumns, then fill it here")
	}
	var want []Event
	for i := range 3 {
		// Data as jsonb prints it, so that it reads back byte for byte.
		e := NewEvent{Type: "t.step", SchemaVersion: 1 + i, Tenant: "shöp.test",
			Data: json.RawMessage(`{"n": ` + strconv.Itoa(i) + `, "s": "é\\n"}`), Metadata: meta}
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
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	inTx, err := ReadStreamRangeTx(ctx, tx, "order-1", 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]Event{"ReadAll": all, "ReadStream": stream, "ReadStreamRangeTx": inTx} {
		if len(got) != len(want) {
			t.Fatalf("%s: %d events, want %d", name, len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			if !g.RecordedAt.Equal(w.RecordedAt) || g.RecordedAt.Location() != time.UTC {
				t.Errorf("%s event %d: recorded at %v, appended at %v", name, i, g.RecordedAt, w.RecordedAt)
			}
			g.RecordedAt = w.RecordedAt
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s event %d:\n read %+v\n appended %+v", name, i, g, w)
			}
		}
	}
}
