package eventstore

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/ordermill/ordermill/internal/testenv"
)

// The relay's cheaper read must return exactly what readAll returns: a
// metadata field it forgot to pick out would vanish from every message.
func TestRelayReadEqualsReadAll(t *testing.T) {
	ctx := context.Background()
	store := New(testenv.Pool(t))
	meta := Metadata{CorrelationID: "corr", CausationID: "cause", Actor: "user:1", RequestID: "req", Source: "api"}
	if reflect.TypeOf(meta).NumField() != 5 {
		t.Fatal("Metadata changed: pick the new field out in relayColumns, then fill it here")
	}
	for i, data := range []string{`{"a": 1}`, `{"s": "é\u2028<>&", "n": [1, 2.50, null]}`, `{}`} {
		e := NewEvent{Type: "t.step", Tenant: "shop.test", Data: json.RawMessage(data), Metadata: meta}
		if i == 2 {
			e.Metadata = Metadata{}
		}
		if _, err := store.Append(ctx, "order-1", AnyVersion, e); err != nil {
			t.Fatal(err)
		}
	}
	want, err := readAll(ctx, store.pool, Start, 10)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readCommitted(ctx, store.pool, Start, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 3 || !reflect.DeepEqual(got, want) {
		t.Fatalf("relay read:\n%+v\nreadAll:\n%+v", got, want)
	}
}
