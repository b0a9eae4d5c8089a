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
