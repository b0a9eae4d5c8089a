package relay_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/relay"
)

// FromMessage (go-json) must read every relayed envelope as encoding/json
// does: random events, published as the relay publishes them.
func TestFromMessageAgreesWithEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		var e eventstore.Event
		testenv.Fill(rng, reflect.ValueOf(&e).Elem())
		msg, err := relay.ToMessage(e)
		if err != nil {
			t.Fatal(err)
		}
		var want eventstore.Event
		if err := json.Unmarshal(msg.Payload, &want); err != nil {
			t.Fatal(err)
		}
		got, err := relay.FromMessage(msg)
		if err != nil {
			t.Fatalf("%s: %v", msg.Payload, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %#v\nwant %#v", msg.Payload, got, want)
		}
	}
	msg, _ := relay.ToMessage(eventstore.Event{})
	msg.Payload = []byte(`{"stream_version": "one"}`)
	if _, err := relay.FromMessage(msg); err == nil {
		t.Error("an envelope with a wrong kind of value was read")
	}
}

// BenchmarkFromMessage compares go-json with encoding/json (the baseline) on
// the relayed envelopes of what a projector decodes per order.
func BenchmarkFromMessage(b *testing.B) {
	payloads := []struct{ typ, data string }{
		{"order.placed", `{"name": "#1001", "shop": "bench.myshopify.com", "email": "ann@example.com", "lines": [{"id": "l1", "sku": "TEE", "title": "Tee", "quantity": 2, "unit_price": 1500, "variant_id": 0}, {"id": "l2", "sku": "", "title": "Mug", "quantity": 1, "unit_price": 1000, "variant_id": 9007199254740993}], "total": 4000, "source": "api", "currency": "EUR", "order_id": "d6d90d10-1382-66ff-bc78-b0c9523cfabe", "subtotal": 4000, "placed_at": "2026-03-01T10:00:00Z", "shopify_id": 0, "customer_name": "Ann Lee", "shopify_updated_at": "0001-01-01T00:00:00Z"}`},
		{"order.paid", `{"amount": 4000, "paid_at": "2026-03-01T10:01:00Z"}`},
		{"order.fulfilled", `{"lines": [{"line_id": "l1", "quantity": 2}], "fulfilled_at": "2026-03-01T11:00:00Z", "fulfillment_id": "f1"}`},
		{"order.refunded", `{"lines": [{"line_id": "l2", "quantity": 1}], "amount": 1000, "refund_id": "r1", "refunded_at": "2026-03-01T12:00:00Z"}`},
	}
	var envelopes [][]byte
	for i, p := range payloads {
		msg, err := relay.ToMessage(eventstore.Event{Position: eventstore.Position{TransactionID: 900, GlobalPos: int64(i)},
			ID: uuid.New(), StreamID: "order-d6d90d10-1382-66ff-bc78-b0c9523cfabe", StreamVersion: int64(i + 1), Type: p.typ,
			Tenant: "bench.myshopify.com", Data: json.RawMessage(p.data), Metadata: eventstore.Metadata{CorrelationID: "c", Source: "api"},
			RecordedAt: time.Now().UTC(), PrevHash: testenv.RandomBytes(rand.New(rand.NewPCG(5, 6)), 32), Hash: testenv.RandomBytes(rand.New(rand.NewPCG(7, 8)), 32)})
		if err != nil {
			b.Fatal(err)
		}
		envelopes = append(envelopes, msg.Payload)
	}
	msg, _ := relay.ToMessage(eventstore.Event{})
	for _, c := range []struct {
		name   string
		decode func(payload []byte) error
	}{
		{"envelopes/encoding-json", func(p []byte) error { var e eventstore.Event; return json.Unmarshal(p, &e) }},
		{"envelopes/go-json", func(p []byte) error { msg.Payload = p; _, err := relay.FromMessage(msg); return err }},
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
