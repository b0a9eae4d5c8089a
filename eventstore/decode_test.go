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
			fill(rng, v.Elem())
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

// FromMessage (go-json) must read every relayed envelope as encoding/json
// does: random events, published as the relay publishes them.
func TestFromMessageAgreesWithEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		var e eventstore.Event
		fill(rng, reflect.ValueOf(&e).Elem())
		msg, err := eventstore.ToMessage(e)
		if err != nil {
			t.Fatal(err)
		}
		var want eventstore.Event
		if err := json.Unmarshal(msg.Payload, &want); err != nil {
			t.Fatal(err)
		}
		got, err := eventstore.FromMessage(msg)
		if err != nil {
			t.Fatalf("%s: %v", msg.Payload, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %#v\nwant %#v", msg.Payload, got, want)
		}
	}
	msg, _ := eventstore.ToMessage(eventstore.Event{})
	msg.Payload = []byte(`{"stream_version": "one"}`)
	if _, err := eventstore.FromMessage(msg); err == nil {
		t.Error("an envelope with a wrong kind of value was read")
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
	rawType  = reflect.TypeFor[json.RawMessage]()
	samples  = []string{"", "a", "Ann Lee", `quote " and \ backslash`, "<b>&amp;</b>", "Zoë 東京 🙂", "\u2028", "line\nbreak\t", "12345678901234567890"}
)

// fill sets v, and every exported field under it, to a random value.
func fill(rng *rand.Rand, v reflect.Value) {
	switch {
	case v.Type() == uuidType:
		v.Set(reflect.ValueOf(uuid.UUID(randomBytes(rng, 16))))
		return
	case v.Type() == rawType:
		v.SetBytes(fmt.Appendf(nil, `{"n": %d, "s": %q}`, rng.Int64(), samples[rng.IntN(len(samples))]))
		return
	case v.Type() == timeType:
		sec := rng.Int64N(253402300799) // through 9999
		v.Set(reflect.ValueOf(time.Unix(sec, rng.Int64N(1e9)).UTC()))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(samples[rng.IntN(len(samples))])
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 1)
	case reflect.Uint64:
		v.SetUint(rng.Uint64() >> rng.IntN(64))
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt([]int64{0, 1, -1, rng.Int64N(1e6), -rng.Int64N(1e6), rng.Int64() >> rng.IntN(63), 1<<53 + 1}[rng.IntN(7)])
	case reflect.Float64:
		v.SetFloat(rng.NormFloat64() * 1e3)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes(randomBytes(rng, rng.IntN(64)))
			return
		}
		n := rng.IntN(4) - 1 // -1: nil
		if n < 0 {
			return
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fill(rng, s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range rng.IntN(3) {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(rng, k)
			fill(rng, e)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Pointer:
		if rng.IntN(2) == 0 {
			p := reflect.New(v.Type().Elem())
			fill(rng, p.Elem())
			v.Set(p)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(rng, v.Field(i))
			}
		}
	default:
		panic(fmt.Sprintf("fill: no case for %s", v.Type()))
	}
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

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
// a projector decodes per order: its four events' payloads, and the relayed
// envelope of each.
func BenchmarkDecode(b *testing.B) {
	payloads := []struct{ typ, data string }{
		{"order.placed", `{"name": "#1001", "shop": "bench.myshopify.com", "email": "ann@example.com", "lines": [{"id": "l1", "sku": "TEE", "title": "Tee", "quantity": 2, "unit_price": 1500, "variant_id": 0}, {"id": "l2", "sku": "", "title": "Mug", "quantity": 1, "unit_price": 1000, "variant_id": 9007199254740993}], "total": 4000, "source": "api", "currency": "EUR", "order_id": "d6d90d10-1382-66ff-bc78-b0c9523cfabe", "subtotal": 4000, "placed_at": "2026-03-01T10:00:00Z", "shopify_id": 0, "customer_name": "Ann Lee", "shopify_updated_at": "0001-01-01T00:00:00Z"}`},
		{"order.paid", `{"amount": 4000, "paid_at": "2026-03-01T10:01:00Z"}`},
		{"order.fulfilled", `{"lines": [{"line_id": "l1", "quantity": 2}], "fulfilled_at": "2026-03-01T11:00:00Z", "fulfillment_id": "f1"}`},
		{"order.refunded", `{"lines": [{"line_id": "l2", "quantity": 1}], "amount": 1000, "refund_id": "r1", "refunded_at": "2026-03-01T12:00:00Z"}`},
	}
	var envelopes [][]byte
	for i, p := range payloads {
		msg, err := eventstore.ToMessage(eventstore.Event{Position: eventstore.Position{TransactionID: 900, GlobalPos: int64(i)},
			ID: uuid.New(), StreamID: "order-d6d90d10-1382-66ff-bc78-b0c9523cfabe", StreamVersion: int64(i + 1), Type: p.typ,
			Tenant: "bench.myshopify.com", Data: json.RawMessage(p.data), Metadata: eventstore.Metadata{CorrelationID: "c", Source: "api"},
			RecordedAt: time.Now().UTC(), PrevHash: randomBytes(rand.New(rand.NewPCG(5, 6)), 32), Hash: randomBytes(rand.New(rand.NewPCG(7, 8)), 32)})
		if err != nil {
			b.Fatal(err)
		}
		envelopes = append(envelopes, msg.Payload)
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
	msg, _ := eventstore.ToMessage(eventstore.Event{})
	for _, c := range []struct {
		name   string
		decode func(payload []byte) error
	}{
		{"envelopes/encoding-json", func(p []byte) error { var e eventstore.Event; return json.Unmarshal(p, &e) }},
		{"envelopes/go-json", func(p []byte) error { msg.Payload = p; _, err := eventstore.FromMessage(msg); return err }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				for _, p := range envelopes {
					if err := c.decode(p); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
