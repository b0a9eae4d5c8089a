package audit_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

func TestOrderAtReturnsTheStateAfterEachEvent(t *testing.T) {
	ctx := context.Background()
	store := eventstore.New(testenv.Pool(t))
	id := uuid.New()
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	lines := []domain.LineQuantity{{LineID: "a", Quantity: 2}}

	// Each step is a command on the order as it stands, and what an auditor
	// should see right after it.
	type expect struct {
		status              domain.Status
		financial           domain.FinancialStatus
		fulfillment         domain.FulfillmentStatus
		paid, refunded      int64
		fulfilledA, refundB int
	}
	steps := []struct {
		cmd  func(o *domain.Order) ([]domain.Event, error)
		want expect
	}{
		{func(*domain.Order) ([]domain.Event, error) {
			return domain.PlaceOrder(domain.PlaceOrderCommand{OrderID: id, Shop: "demo.myshopify.com", Name: "#1001",
				Source: domain.SourceAPI, Currency: "EUR", PlacedAt: at, Subtotal: 2500, Total: 2500,
				Lines: []domain.PlacedLine{{ID: "a", SKU: "MUG", Title: "Mug", Quantity: 2, UnitPrice: 1000},
					{ID: "b", SKU: "TEA", Title: "Tea", Quantity: 1, UnitPrice: 500}}})
		}, expect{domain.StatusPlaced, domain.FinancialPending, domain.FulfillmentUnfulfilled, 0, 0, 0, 0}},
		{func(o *domain.Order) ([]domain.Event, error) { return o.MarkPaid(2500, at.Add(time.Minute)) },
			expect{domain.StatusPaid, domain.FinancialPaid, domain.FulfillmentUnfulfilled, 2500, 0, 0, 0}},
		{func(o *domain.Order) ([]domain.Event, error) {
			return o.Fulfill("f1", lines, at.Add(time.Hour), domain.Tracking{})
		},
			expect{domain.StatusPartiallyFulfilled, domain.FinancialPaid, domain.FulfillmentPartial, 2500, 0, 2, 0}},
		{func(o *domain.Order) ([]domain.Event, error) {
			return o.Fulfill("f2", []domain.LineQuantity{{LineID: "b", Quantity: 1}}, at.Add(2*time.Hour), domain.Tracking{})
		}, expect{domain.StatusFulfilled, domain.FinancialPaid, domain.FulfillmentFulfilled, 2500, 0, 2, 0}},
		{func(o *domain.Order) ([]domain.Event, error) {
			return o.Refund("r1", 500, []domain.LineQuantity{{LineID: "b", Quantity: 1}}, at.Add(24*time.Hour), "")
		}, expect{domain.StatusPartiallyRefunded, domain.FinancialPartiallyRefunded, domain.FulfillmentFulfilled, 2500, 500, 2, 1}},
	}

	live := &domain.Order{}
	var (
		states  []domain.OrderState
		history []eventstore.Event
	)
	for i, s := range steps {
		events, err := s.cmd(live)
		if err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
		encoded, err := eventstore.Encode("demo.myshopify.com", eventstore.Metadata{Actor: "test"}, events...)
		if err != nil {
			t.Fatal(err)
		}
		res, err := store.Append(ctx, domain.OrderStream(id), eventstore.Exact(int64(i)), encoded...)
		if err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
		for _, e := range events {
			live.Apply(e)
		}
		states = append(states, live.Snapshot())
		history = append(history, res.Events...)
	}

	for i, e := range history {
		w := steps[i].want
		for _, m := range []audit.Moment{{Position: e.Position, ByPosition: true}, {Time: e.RecordedAt}} {
			got, replayed, err := audit.New(store).OrderAt(ctx, id, m)
			if err != nil {
				t.Fatalf("at %s: %v", m, err)
			}
			if len(replayed) != i+1 {
				t.Fatalf("at %s: replayed %d events, want %d", m, len(replayed), i+1)
			}
			if !reflect.DeepEqual(got, states[i]) {
				t.Fatalf("at %s:\n got %+v\nwant %+v", m, got, states[i])
			}
			if got.Version != i+1 || got.Status != w.status || got.FinancialStatus != w.financial ||
				got.FulfillmentStatus != w.fulfillment || got.Paid != w.paid || got.Refunded != w.refunded ||
				got.Lines[0].FulfilledQuantity != w.fulfilledA || got.Lines[1].RefundedQuantity != w.refundB {
				t.Fatalf("at %s after event %d (%s): %+v, want %+v", m, i+1, e.Type, got, w)
			}
		}
	}

	before := audit.Moment{Time: history[0].RecordedAt.Add(-time.Microsecond)}
	if _, _, err := audit.New(store).OrderAt(ctx, id, before); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("before the order existed: %v", err)
	}
	for _, s := range []string{history[2].Position.String(), history[2].RecordedAt.Format(time.RFC3339Nano)} {
		m, err := audit.ParseMoment(s)
		if err != nil {
			t.Fatal(err)
		}
		if got, _, err := audit.New(store).OrderAt(ctx, id, m); err != nil || got.Version != 3 {
			t.Fatalf("at %q: version %d, %v", s, got.Version, err)
		}
	}
	if _, err := audit.ParseMoment("yesterday"); err == nil {
		t.Fatal("parsed a malformed moment")
	}
}
