package eventstore_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// DecodeEvent (go-json) must decode every stored payload of every event type
// into what domain.DecodeEvent (encoding/json) makes of it, and refuse what
// it refuses. The payloads are random values of each type, encoded as Encode
// does and passed through Postgres's jsonb as appends store them.
func TestDecodeEventAgreesWithEncodingJSON(t *testing.T) {
	ctx := t.Context()
	pool := testenv.Pool(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range domain.EventTypes() {
		typ := payloadType(t, name)
		var payloads []string
		for range 100 {
			v := reflect.New(typ)
			testenv.Fill(rng, v.Elem())
			data, err := json.Marshal(v.Interface())
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			payloads = append(payloads, string(data))
		}
		payloads = append(payloads, wrongKinds(typ)...)
		payloads = append(payloads, `{}`, `{"unknown_field": [1, {"a": null}]}`, `null`)
		var stored []string
		if err := pool.QueryRow(ctx, `SELECT array_agg(p::jsonb::text ORDER BY n) FROM unnest($1::text[]) WITH ORDINALITY AS u(p, n)`,
			payloads).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		refused := 0
		for _, data := range stored {
			want, wantErr := domain.DecodeEvent(name, []byte(data))
			got, err := eventstore.DecodeEvent(name, []byte(data))
			if (err != nil) != (wantErr != nil) {
				t.Errorf("%s %s: error %v, encoding/json's %v", name, data, err, wantErr)
				continue
			}
			if wantErr != nil {
				refused++
			} else if !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s:\n got %#v\nwant %#v", name, data, got, want)
			}
		}
		if len(wrongKinds(typ)) > 0 && refused == 0 {
			t.Errorf("%s: no payload with a wrong kind of value was refused", name)
		}
	}
	if _, err := eventstore.DecodeEvent("order.exploded", []byte(`{}`)); !errors.Is(err, domain.ErrUnknownEventType) {
		t.Errorf("unknown type: %v", err)
	}
}

// payloadType is the Go type domain decodes an event type's payload into.
func payloadType(t *testing.T, name string) reflect.Type {
	var typ reflect.Type
	stop := errors.New("stop")
	_, err := domain.DecodeEventWith(name, nil, func(_ []byte, v any) error { typ = reflect.TypeOf(v).Elem(); return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("%s: %v", name, err)
	}
	return typ
}

var (
	uuidType = reflect.TypeFor[uuid.UUID]()
	timeType = reflect.TypeFor[time.Time]()
)

// wrongKinds are payloads that give one top-level field of typ a JSON value
// of the wrong kind, one payload per field that has a kind to get wrong.
func wrongKinds(typ reflect.Type) []string {
	var out []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		var wrong string
		switch {
		case f.Type == uuidType:
			wrong = `"not-a-uuid"`
		case f.Type == timeType:
			wrong = `"yesterday"`
		case f.Type.Kind() == reflect.String:
			wrong = `5`
		case f.Type.Kind() == reflect.Int64 || f.Type.Kind() == reflect.Int || f.Type.Kind() == reflect.Int32:
			wrong = `"5"`
		case f.Type.Kind() == reflect.Bool:
			wrong = `"true"`
		case f.Type.Kind() == reflect.Slice || f.Type.Kind() == reflect.Map:
			wrong = `true`
		default:
			continue
		}
		out = append(out, fmt.Sprintf(`{%q: %s}`, name, wrong))
	}
	return out
}

// BenchmarkDecode compares go-json with encoding/json (the baseline) on what
// a projector decodes per order: its four events' payloads.
func BenchmarkDecode(b *testing.B) {
	payloads := []struct{ typ, data string }{
		{"order.placed", `{"name": "#1001", "shop": "bench.myshopify.com", "email": "ann@example.com", "lines": [{"id": "l1", "sku": "TEE", "title": "Tee", "quantity": 2, "unit_price": 1500, "variant_id": 0}, {"id": "l2", "sku": "", "title": "Mug", "quantity": 1, "unit_price": 1000, "variant_id": 9007199254740993}], "total": 4000, "source": "api", "currency": "EUR", "order_id": "d6d90d10-1382-66ff-bc78-b0c9523cfabe", "subtotal": 4000, "placed_at": "2026-03-01T10:00:00Z", "shopify_id": 0, "customer_name": "Ann Lee", "shopify_updated_at": "0001-01-01T00:00:00Z"}`},
		{"order.paid", `{"amount": 4000, "paid_at": "2026-03-01T10:01:00Z"}`},
		{"order.fulfilled", `{"lines": [{"line_id": "l1", "quantity": 2}], "fulfilled_at": "2026-03-01T11:00:00Z", "fulfillment_id": "f1"}`},
		{"order.refunded", `{"lines": [{"line_id": "l2", "quantity": 1}], "amount": 1000, "refund_id": "r1", "refunded_at": "2026-03-01T12:00:00Z"}`},
	}
	for _, c := range []struct {
		name   string
		decode func(typ string, data []byte) (domain.Event, error)
	}{{"payloads/encoding-json", domain.DecodeEvent}, {"payloads/go-json", eventstore.DecodeEvent}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				for _, p := range payloads {
					if _, err := c.decode(p.typ, []byte(p.data)); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
