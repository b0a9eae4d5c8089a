package domain

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func placeCmd() PlaceOrderCommand {
	return PlaceOrderCommand{
		OrderID:      uuid.MustParse("11111111-1111-4111-8111-111111111111"),
		Shop:         "demo.myshopify.com",
		Name:         "#1001",
		Source:       SourceAPI,
		Email:        "jane@example.com",
		CustomerName: "Jane Doe",
		Currency:     "USD",
		Lines: []PlacedLine{
			{ID: "a", SKU: "MUG", VariantID: 11, Title: "Mug", Quantity: 2, UnitPrice: 1000},
			{ID: "b", SKU: "", VariantID: 12, Title: "Sticker", Quantity: 1, UnitPrice: 500},
		},
		Subtotal: 2500,
		Total:    3000,
		PlacedAt: t0,
	}
}

// step is one command against an order; run applies what it raises.
type step func(o *Order) ([]Event, error)

func run(t *testing.T, o *Order, steps ...step) []Event {
	t.Helper()
	var all []Event
	for i, s := range steps {
		evs, err := s(o)
		if err != nil {
			t.Fatalf("setup step %d: %v", i, err)
		}
		for _, e := range evs {
			o.Apply(e)
		}
		all = append(all, evs...)
	}
	return all
}

func place(o *Order) ([]Event, error) { return PlaceOrder(placeCmd()) }
func pay(o *Order) ([]Event, error)   { return o.MarkPaid(3000, t0.Add(time.Hour)) }
func fulfil(id string, lines ...LineQuantity) step {
	return func(o *Order) ([]Event, error) { return o.Fulfill(id, lines, t0.Add(2*time.Hour), Tracking{}) }
}
func cancel(o *Order) ([]Event, error) { return o.Cancel("customer", t0.Add(3*time.Hour)) }
func refund(id string, amount int64, lines ...LineQuantity) step {
	return func(o *Order) ([]Event, error) { return o.Refund(id, amount, lines, t0.Add(4*time.Hour), "") }
}

var (
	fulfilAll  = fulfil("f1", LineQuantity{"a", 2}, LineQuantity{"b", 1})
	fulfilPart = fulfil("f1", LineQuantity{"a", 1})
)

func TestOrderCommands(t *testing.T) {
	tests := []struct {
		name        string
		setup       []step
		cmd         step
		wantErr     error // sentinel; nil means success
		wantValid   bool  // a *ValidationError is expected
		wantStatus  Status
		wantFinance FinancialStatus
	}{
		{name: "pay placed", setup: []step{place}, cmd: pay, wantStatus: StatusPaid, wantFinance: FinancialPaid},
		{name: "pay twice", setup: []step{place, pay}, cmd: pay, wantErr: ErrInvalidTransition},
		{name: "pay cancelled", setup: []step{place, cancel}, cmd: pay, wantErr: ErrInvalidTransition},
		{name: "pay refunded", setup: []step{place, pay, refund("r1", 3000)}, cmd: pay, wantErr: ErrInvalidTransition},
		{name: "pay wrong amount", setup: []step{place}, cmd: func(o *Order) ([]Event, error) { return o.MarkPaid(2999, t0) }, wantValid: true},
		{name: "pay unpaid fulfilled order", setup: []step{place, fulfilAll}, cmd: pay, wantStatus: StatusFulfilled, wantFinance: FinancialPaid},
		{name: "pay missing order", cmd: pay, wantErr: ErrNotFound},

		{name: "fulfil unpaid partially", setup: []step{place}, cmd: fulfilPart, wantStatus: StatusPartiallyFulfilled, wantFinance: FinancialPending},
		{name: "fulfil paid completely", setup: []step{place, pay}, cmd: fulfilAll, wantStatus: StatusFulfilled, wantFinance: FinancialPaid},
		{name: "fulfil rest", setup: []step{place, pay, fulfilPart}, cmd: fulfil("f2", LineQuantity{"a", 1}, LineQuantity{"b", 1}), wantStatus: StatusFulfilled, wantFinance: FinancialPaid},
		{name: "fulfil cancelled", setup: []step{place, cancel}, cmd: fulfilAll, wantErr: ErrInvalidTransition},
		{name: "fulfil refunded", setup: []step{place, pay, refund("r1", 3000)}, cmd: fulfilAll, wantErr: ErrInvalidTransition},
		{name: "over-fulfil", setup: []step{place, pay}, cmd: fulfil("f1", LineQuantity{"a", 3}), wantErr: ErrOverFulfilment},
		{name: "fulfil fulfilled with new id", setup: []step{place, pay, fulfilAll}, cmd: fulfil("f2", LineQuantity{"a", 1}), wantErr: ErrOverFulfilment},
		{name: "fulfil unknown line", setup: []step{place}, cmd: fulfil("f1", LineQuantity{"zz", 1}), wantValid: true},
		{name: "fulfil line twice", setup: []step{place}, cmd: fulfil("f1", LineQuantity{"a", 1}, LineQuantity{"a", 1}), wantValid: true},
		{name: "fulfil zero quantity", setup: []step{place}, cmd: fulfil("f1", LineQuantity{"a", 0}), wantValid: true},
		{name: "fulfil no lines", setup: []step{place}, cmd: fulfil("f1"), wantValid: true},
		{name: "fulfil without id", setup: []step{place}, cmd: fulfil("", LineQuantity{"a", 1}), wantValid: true},

		{name: "cancel placed voids payment", setup: []step{place}, cmd: cancel, wantStatus: StatusCancelled, wantFinance: FinancialVoided},
		{name: "cancel paid keeps payment", setup: []step{place, pay}, cmd: cancel, wantStatus: StatusCancelled, wantFinance: FinancialPaid},
		{name: "cancel refunded", setup: []step{place, pay, refund("r1", 3000)}, cmd: cancel, wantStatus: StatusCancelled, wantFinance: FinancialRefunded},
		{name: "cancel twice", setup: []step{place, cancel}, cmd: cancel, wantErr: ErrInvalidTransition},
		{name: "cancel partially fulfilled", setup: []step{place, pay, fulfilPart}, cmd: cancel, wantErr: ErrInvalidTransition},
		{name: "cancel fulfilled", setup: []step{place, pay, fulfilAll}, cmd: cancel, wantErr: ErrInvalidTransition},
		{name: "cancel without reason", setup: []step{place}, cmd: func(o *Order) ([]Event, error) { return o.Cancel(" ", t0) }, wantValid: true},

		{name: "refund unpaid", setup: []step{place}, cmd: refund("r1", 100), wantErr: ErrInvalidTransition},
		{name: "refund voided", setup: []step{place, cancel}, cmd: refund("r1", 100), wantErr: ErrInvalidTransition},
		{name: "refund part", setup: []step{place, pay}, cmd: refund("r1", 1000, LineQuantity{"a", 1}), wantStatus: StatusPartiallyRefunded, wantFinance: FinancialPartiallyRefunded},
		{name: "refund rest", setup: []step{place, pay, refund("r1", 1000)}, cmd: refund("r2", 2000), wantStatus: StatusRefunded, wantFinance: FinancialRefunded},
		{name: "refund fulfilled order", setup: []step{place, pay, fulfilAll}, cmd: refund("r1", 3000), wantStatus: StatusRefunded, wantFinance: FinancialRefunded},
		{name: "refund cancelled paid order", setup: []step{place, pay, cancel}, cmd: refund("r1", 3000), wantStatus: StatusCancelled, wantFinance: FinancialRefunded},
		{name: "refund goods only", setup: []step{place, pay}, cmd: refund("r1", 0, LineQuantity{"b", 1}), wantStatus: StatusPaid, wantFinance: FinancialPaid},
		{name: "over-refund money", setup: []step{place, pay, refund("r1", 2000)}, cmd: refund("r2", 1001), wantErr: ErrOverRefund},
		{name: "over-refund units", setup: []step{place, pay}, cmd: refund("r1", 0, LineQuantity{"b", 2}), wantErr: ErrOverRefund},
		{name: "refund fully refunded", setup: []step{place, pay, refund("r1", 3000)}, cmd: refund("r2", 1), wantErr: ErrInvalidTransition},
		{name: "refund nothing", setup: []step{place, pay}, cmd: refund("r1", 0), wantValid: true},
		{name: "refund negative", setup: []step{place, pay}, cmd: refund("r1", -5), wantValid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &Order{}
			run(t, o, tt.setup...)
			before := o.Snapshot()
			evs, err := tt.cmd(o)
			if !reflect.DeepEqual(before, o.Snapshot()) {
				t.Fatal("command mutated the order")
			}
			var ve *ValidationError
			switch {
			case tt.wantValid:
				if !errors.As(err, &ve) {
					t.Fatalf("err = %v, want *ValidationError", err)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if len(evs) != 1 {
					t.Fatalf("got %d events, want 1", len(evs))
				}
				o.Apply(evs[0])
				if s := o.Snapshot(); s.Status != tt.wantStatus || s.FinancialStatus != tt.wantFinance {
					t.Fatalf("status = %s/%s, want %s/%s", s.Status, s.FinancialStatus, tt.wantStatus, tt.wantFinance)
				}
			}
			if err != nil && evs != nil {
				t.Fatalf("events returned with error: %v", evs)
			}
		})
	}
}

func TestTransitionErrorDetails(t *testing.T) {
	o := &Order{}
	run(t, o, place, cancel)
	_, err := o.Cancel("again", t0)
	var te *TransitionError
	if !errors.As(err, &te) || te.From != StatusCancelled || te.Action != "cancel" {
		t.Fatalf("err = %#v, want TransitionError from cancelled", err)
	}
	if err.Error() != "cannot cancel: state is cancelled" {
		t.Fatalf("message = %q", err.Error())
	}
}

func TestValidationErrorListsFields(t *testing.T) {
	c := placeCmd()
	c.Currency, c.Email = "", "x"
	_, err := PlaceOrder(c)
	want := "invalid input: email: is not an email address; currency: must be a three-letter ISO 4217 code"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestPlaceOrderValidation(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(c *PlaceOrderCommand)
		fields []string
	}{
		{"valid", func(c *PlaceOrderCommand) {}, nil},
		{"no lines", func(c *PlaceOrderCommand) { c.Lines = nil }, []string{"lines"}},
		{"zero quantity", func(c *PlaceOrderCommand) { c.Lines[0].Quantity = 0; c.Subtotal = 500 }, []string{"lines[0].quantity"}},
		{"negative price", func(c *PlaceOrderCommand) { c.Lines[1].UnitPrice = -1; c.Subtotal = 0 }, []string{"lines[1].unit_price"}},
		{"duplicate line id", func(c *PlaceOrderCommand) { c.Lines[1].ID = "a" }, []string{"lines[1].id"}},
		{"bad currency", func(c *PlaceOrderCommand) { c.Currency = "usd" }, []string{"currency"}},
		{"bad email", func(c *PlaceOrderCommand) { c.Email = "jane@" }, []string{"email"}},
		{"no email is fine", func(c *PlaceOrderCommand) { c.Email = "" }, nil},
		{"subtotal above lines", func(c *PlaceOrderCommand) { c.Subtotal = 2501 }, []string{"subtotal"}},
		{"discounted subtotal", func(c *PlaceOrderCommand) { c.Subtotal = 2000 }, nil},
		{"negative total", func(c *PlaceOrderCommand) { c.Total = -1 }, []string{"total"}},
		{"overflowing line", func(c *PlaceOrderCommand) { c.Lines[0].UnitPrice = 1 << 62; c.Lines[0].Quantity = 4 }, []string{"lines[0]"}},
		{"bad shop", func(c *PlaceOrderCommand) { c.Shop = "example.com" }, []string{"shop"}},
		{"no id, name, time", func(c *PlaceOrderCommand) { c.OrderID = uuid.Nil; c.Name = " "; c.PlacedAt = time.Time{} }, []string{"order_id", "name", "placed_at"}},
		{"api order with shopify id", func(c *PlaceOrderCommand) { c.ShopifyID = 5 }, []string{"shopify_id"}},
		{"shopify order with foreign id", func(c *PlaceOrderCommand) { c.Source = SourceShopify; c.ShopifyID = 5; c.ShopifyUpdatedAt = t0 }, []string{"order_id"}},
		{"unknown source", func(c *PlaceOrderCommand) { c.Source = "pos" }, []string{"source"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := placeCmd()
			c.Lines = append([]PlacedLine(nil), c.Lines...)
			tt.edit(&c)
			evs, err := PlaceOrder(c)
			if tt.fields == nil {
				if err != nil || len(evs) != 1 {
					t.Fatalf("PlaceOrder = %v, %v", evs, err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
			if !reflect.DeepEqual(got, tt.fields) {
				t.Fatalf("fields = %v, want %v (%v)", got, tt.fields, err)
			}
		})
	}
}

func TestOrderIdempotentIDs(t *testing.T) {
	o := &Order{}
	run(t, o, place, pay, fulfilPart, refund("r1", 1000))
	for name, s := range map[string]step{
		"same fulfillment id": fulfil("f1", LineQuantity{"a", 1}),
		"same refund id":      refund("r1", 1000),
	} {
		evs, err := s(o)
		if err != nil || evs != nil {
			t.Errorf("%s: got %v, %v; want no events and no error", name, evs, err)
		}
	}
	run(t, o, refund("r2", 2000)) // fully refunded now; replays still succeed quietly
	if evs, err := fulfil("f1", LineQuantity{"a", 1})(o); err != nil || evs != nil {
		t.Errorf("replayed fulfillment on refunded order: %v, %v", evs, err)
	}
}

// roundTrip stores and loads events as the event store would.
func roundTrip(t *testing.T, evs []Event) []Event {
	t.Helper()
	out := make([]Event, len(evs))
	for i, e := range evs {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if out[i], err = DecodeEvent(e.EventType(), data); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestOrderReplayIsDeterministic(t *testing.T) {
	o := &Order{}
	evs := run(t, o, place, pay, fulfilPart, refund("r1", 500, LineQuantity{"b", 1}), fulfil("f2", LineQuantity{"a", 1}, LineQuantity{"b", 1}))
	replayed, err := NewOrderFromHistory(roundTrip(t, evs))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := replayed.Snapshot(), o.Snapshot(); !reflect.DeepEqual(got, want) {
		t.Fatalf("replayed state differs:\n got %+v\nwant %+v", got, want)
	}
	if replayed.Version() != len(evs) {
		t.Fatalf("version = %d, want %d", replayed.Version(), len(evs))
	}
	s := o.Snapshot()
	want := []Line{
		{ID: "a", SKU: "MUG", VariantID: 11, Title: "Mug", Quantity: 2, OriginalQuantity: 2, FulfilledQuantity: 2, UnitPrice: 1000},
		{ID: "b", VariantID: 12, Title: "Sticker", Quantity: 1, OriginalQuantity: 1, FulfilledQuantity: 1, RefundedQuantity: 1, UnitPrice: 500},
	}
	if !reflect.DeepEqual(s.Lines, want) || s.Paid != 3000 || s.Refunded != 500 || s.Status != StatusPartiallyRefunded ||
		s.FulfillmentStatus != FulfillmentFulfilled || !reflect.DeepEqual(s.Fulfillments, []string{"f1", "f2"}) {
		t.Fatalf("unexpected state %+v", s)
	}
}

func TestNewOrderFromHistoryRejectsBadStreams(t *testing.T) {
	for name, tc := range map[string]struct {
		events []Event
		want   error
	}{
		"empty":          {nil, ErrNotFound},
		"foreign event":  {[]Event{OrderPlaced{}, ShopUninstalled{}}, ErrUnknownEventType},
		"no placed head": {[]Event{OrderPaid{}}, nil},
	} {
		_, err := NewOrderFromHistory(tc.events)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}

func TestSnapshotIsACopy(t *testing.T) {
	o := &Order{}
	run(t, o, place, fulfilPart)
	s := o.Snapshot()
	s.Lines[0].Quantity = 99
	s.Fulfillments[0] = "x"
	if o.Snapshot().Lines[0].Quantity != 2 || o.Snapshot().Fulfillments[0] != "f1" {
		t.Fatal("snapshot shares memory with the order")
	}
}

func TestLineInventoryKey(t *testing.T) {
	for _, tt := range []struct {
		line Line
		key  string
		ok   bool
	}{
		{Line{SKU: "MUG", VariantID: 1}, "MUG", true},
		{Line{VariantID: 4000000000000000002}, "variant-4000000000000000002", true},
		{Line{}, "", false},
	} {
		if key, ok := tt.line.InventoryKey(); key != tt.key || ok != tt.ok {
			t.Errorf("%+v: got %q %v, want %q %v", tt.line, key, ok, tt.key, tt.ok)
		}
	}
}

// Refunds of Shopify orders take lines' current quantity to 0: what shipped
// before keeps the order fulfilled, and an order that shipped nothing stays unfulfilled.
func TestFulfilmentStatusOfOrdersWithNothingLeft(t *testing.T) {
	shipped, unshipped := &Order{}, &Order{}
	run(t, shipped, place, pay, fulfilAll)
	run(t, unshipped, place, pay)
	for _, o := range []*Order{shipped, unshipped} {
		for i := range o.s.Lines {
			o.s.Lines[i].Quantity = 0
		}
	}
	if got := shipped.fulfillmentStatus(); got != FulfillmentFulfilled {
		t.Errorf("shipped, then every unit taken back: %s, want fulfilled", got)
	}
	if got := unshipped.fulfillmentStatus(); got != FulfillmentUnfulfilled {
		t.Errorf("nothing shipped, every unit taken back: %s, want unfulfilled", got)
	}
}

// A fulfilment keeps its tracking, and "everything unfulfilled" is what is
// left of each line after the shipments so far.
func TestFulfilWithTrackingAndUnfulfilled(t *testing.T) {
	o := &Order{}
	run(t, o, place, pay, fulfilPart)
	if got := o.Unfulfilled(); !reflect.DeepEqual(got, []LineQuantity{{"a", 1}, {"b", 1}}) {
		t.Fatalf("unfulfilled after one unit of a: %v", got)
	}
	evs := run(t, o, func(o *Order) ([]Event, error) {
		return o.Fulfill("f2", o.Unfulfilled(), t0.Add(3*time.Hour), Tracking{Company: " DHL ", Numbers: []string{"JD1"}, URLs: []string{"https://t.test/JD1"}})
	})
	sh := o.Snapshot().Shipments[1]
	if len(evs) != 1 || sh.TrackingCompany != "DHL" || sh.TrackingNumbers[0] != "JD1" || sh.TrackingURLs[0] != "https://t.test/JD1" || o.Status() != StatusFulfilled {
		t.Fatalf("shipment %+v, status %s", sh, o.Status())
	}
	if got := o.Unfulfilled(); got != nil {
		t.Errorf("unfulfilled of a fulfilled order: %v", got)
	}
}

func TestAnnotate(t *testing.T) {
	o := &Order{}
	placed := run(t, o, place)
	note := "Gift wrap"
	evs := run(t, o, func(o *Order) ([]Event, error) { return o.Annotate(&note, []string{" vip ", "", "vip", "gift"}, t0) })
	if s := o.Snapshot(); len(evs) != 1 || s.Note != "Gift wrap" || !reflect.DeepEqual(s.Tags, []string{"vip", "gift"}) {
		t.Fatalf("annotated: %v, note %q tags %v", evs, s.Note, s.Tags)
	}
	if again, err := NewOrderFromHistory(append(placed, evs...)); err != nil || again.Snapshot().Note != note {
		t.Fatalf("history with order.annotated: %v", err)
	}
	if evs, err := o.Annotate(nil, []string{"vip", "gift"}, t0); err != nil || evs != nil {
		t.Errorf("the same tags again: %v %v", evs, err)
	}
	evs = run(t, o, func(o *Order) ([]Event, error) { return o.Annotate(nil, []string{}, t0) })
	if s := o.Snapshot(); len(evs) != 1 || s.Note != "Gift wrap" || len(s.Tags) != 0 {
		t.Errorf("clearing the tags kept the note? note %q tags %v", s.Note, s.Tags)
	}
	var v *ValidationError
	if _, err := o.Annotate(nil, []string{strings.Repeat("x", 256)}, t0); !errors.As(err, &v) {
		t.Errorf("a tag of 257 characters: %v", err)
	}
	if _, err := (&Order{}).Annotate(&note, nil, t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("annotating no order: %v", err)
	}
}
