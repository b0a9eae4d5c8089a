package domain

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

const demoShop = "demo.myshopify.com"

func loadShopifyOrder(t testing.TB) ShopifyOrder {
	t.Helper()
	body, err := os.ReadFile("testdata/shopify_order.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := DecodeShopifyOrder(body)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDecodeShopifyOrder(t *testing.T) {
	s := loadShopifyOrder(t)
	if s.ID != 5000000000000000123 || s.Customer.ID != 7000000000000000001 {
		t.Fatalf("ids lost precision: %d %d", s.ID, s.Customer.ID)
	}
	if s.LineItems[1].ID != 9000000000000000002 { // sent as a string
		t.Fatalf("string id = %d", s.LineItems[1].ID)
	}
	if s.LineItems[0].Price != (Money{1999, "USD"}) || s.TotalPrice != (Money{6497, "USD"}) || s.SubtotalPrice != (Money{5497, "USD"}) {
		t.Fatalf("money = %v %v %v", s.LineItems[0].Price, s.TotalPrice, s.SubtotalPrice)
	}
	if s.LineItems[1].SKU != "" || InventoryKey(s.LineItems[1].SKU, s.LineItems[1].VariantID) != "variant-4000000000000000002" {
		t.Fatalf("sku null: %q", s.LineItems[1].SKU)
	}
	if want := time.Date(2024, 3, 2, 14, 30, 0, 0, time.UTC); !s.UpdatedAt.Equal(want) {
		t.Fatalf("updated_at = %v, want %v", s.UpdatedAt, want)
	}
	if !s.CancelledAt.IsZero() || s.Refunds[0].Amount() != 500 || s.Fulfillments[1].Status != "cancelled" {
		t.Fatalf("unexpected %+v", s)
	}
}

func TestDecodeShopifyOrderJPY(t *testing.T) {
	body := `{"id":1,"name":"#1","currency":"JPY","created_at":"2024-03-01T10:00:00+09:00","updated_at":"2024-03-01T10:00:00+09:00",
		"total_price":"3500","subtotal_price":"3000.0","line_items":[{"id":2,"variant_id":3,"sku":"TEA","title":"Tea","quantity":2,"price":1500}]}`
	s, err := DecodeShopifyOrder([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if s.TotalPrice.Amount != 3500 || s.SubtotalPrice.Amount != 3000 || s.LineItems[0].Price.Amount != 1500 {
		t.Fatalf("JPY amounts = %v %v %v", s.TotalPrice, s.SubtotalPrice, s.LineItems[0].Price)
	}
}

func TestDecodeShopifyOrderErrorsNameTheField(t *testing.T) {
	valid := `{"id":1,"name":"#1","currency":"USD","created_at":"2024-03-01T10:00:00Z","updated_at":"2024-03-01T10:00:00Z","total_price":"1.00","subtotal_price":"1.00","line_items":[{"id":2,"title":"T","quantity":1,"price":"1.00"}]}`
	tests := []struct {
		name, from, to, field string
	}{
		{"not json", valid, "{", "body"},
		{"float id", `"id":1,`, `"id":1.5,`, "id"},
		{"id too big", `"id":1,`, `"id":99999999999999999999,`, "id"},
		{"missing id", `"id":1,`, ``, "id"},
		{"bad price", `"price":"1.00"`, `"price":"1.005"`, "line_items[0].price"},
		{"word price", `"price":"1.00"`, `"price":"free"`, "line_items[0].price"},
		{"negative price", `"price":"1.00"`, `"price":"-1.00"`, "line_items[0].price"},
		{"bad quantity", `"quantity":1`, `"quantity":"two"`, "line_items[0].quantity"},
		{"zero quantity", `"quantity":1`, `"quantity":0`, "line_items[0].quantity"},
		{"bad time", `"updated_at":"2024-03-01T10:00:00Z"`, `"updated_at":"yesterday"`, "updated_at"},
		{"time without offset", `"updated_at":"2024-03-01T10:00:00Z"`, `"updated_at":"2024-03-01T10:00:00"`, "updated_at"},
		{"bad currency", `"currency":"USD"`, `"currency":"dollars"`, "currency"},
		{"no lines", `"line_items":[{"id":2,"title":"T","quantity":1,"price":"1.00"}]`, `"line_items":[]`, "line_items"},
		{"name is a number", `"name":"#1"`, `"name":1`, "name"},
		{"unknown fulfilled line", `"line_items":[`, `"fulfillments":[{"id":5,"status":"success","created_at":"2024-03-01T10:00:00Z","line_items":[{"id":3,"quantity":1}]}],"line_items":[`, "fulfillments[0].line_items[0].id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.Replace(valid, tt.from, tt.to, 1)
			if body == valid && tt.from != valid {
				t.Fatal("test did not change the body")
			}
			if tt.from == valid {
				body = tt.to
			}
			_, err := DecodeShopifyOrder([]byte(body))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			for _, f := range ve.Fields {
				if f.Field == tt.field {
					return
				}
			}
			t.Fatalf("error %q does not name %s", err, tt.field)
		})
	}
	if _, err := DecodeShopifyOrder([]byte(valid)); err != nil {
		t.Fatalf("valid body rejected: %v", err)
	}
}

func TestApplyShopifySnapshotCreatesOrder(t *testing.T) {
	s := loadShopifyOrder(t)
	o := &Order{}
	evs, err := o.ApplyShopifySnapshot(s, demoShop)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.EventType())
		o.Apply(e)
	}
	if want := []string{"order.placed", "order.paid", "order.fulfilled", "order.refunded", "order.snapshot_applied"}; !reflect.DeepEqual(types, want) {
		t.Fatalf("events = %v, want %v", types, want)
	}
	st := o.Snapshot()
	if st.ID != ShopifyOrderID(demoShop, s.ID) || st.ShopifyID != 5000000000000000123 || st.Source != SourceShopify ||
		st.Email != "Jane.Doe@example.com" || st.CustomerName != "Jane Doe" || st.Total != 5997 || st.Totals.OriginalTotal != 6497 || st.Paid != 6497 || st.Refunded != 500 ||
		st.Status != StatusPartiallyRefunded || st.FulfillmentStatus != FulfillmentPartial || !st.ShopifyUpdatedAt.Equal(s.UpdatedAt) {
		t.Fatalf("unexpected state %+v", st)
	}
	if st.Lines[0].FulfilledQuantity != 2 || st.Lines[1].RefundedQuantity != 1 || st.Lines[1].ID != "9000000000000000002" {
		t.Fatalf("lines = %+v", st.Lines)
	}
	replayed, err := NewOrderFromHistory(roundTrip(t, evs))
	if err != nil || !reflect.DeepEqual(replayed.Snapshot(), st) {
		t.Fatalf("replay differs: %v", err)
	}
}

func TestApplyShopifySnapshotOrdering(t *testing.T) {
	base := loadShopifyOrder(t)
	later := base.UpdatedAt.Add(time.Minute)
	tests := []struct {
		name string
		edit func(s *ShopifyOrder)
		want []string
		// wantOverride is part of the refusal recorded when local rules refuse Shopify's change.
		wantOverride string
	}{
		{name: "same snapshot again", edit: func(s *ShopifyOrder) {}, want: nil},
		{name: "older snapshot", edit: func(s *ShopifyOrder) {
			s.UpdatedAt = base.UpdatedAt.Add(-time.Hour)
			s.Fulfillments[1].Status = "success"
		}, want: nil},
		{name: "newer snapshot, nothing we model changed", edit: func(s *ShopifyOrder) { s.UpdatedAt = later }, want: []string{"order.snapshot_applied"}},
		{name: "newer snapshot with a new fulfilment", edit: func(s *ShopifyOrder) {
			s.UpdatedAt = later
			s.Fulfillments[1].Status = "success"
		}, want: []string{"order.fulfilled", "order.snapshot_applied"}},
		{name: "newer snapshot with a new refund", edit: func(s *ShopifyOrder) {
			s.UpdatedAt = later
			s.Refunds = append(s.Refunds, ShopifyRefund{ID: 8000000000000000002, CreatedAt: later,
				Transactions: []ShopifyTransaction{{Amount: Money{5997, "USD"}, Kind: "refund", Status: "success"}}})
		}, want: []string{"order.refunded", "order.snapshot_applied"}},
		{name: "newer snapshot contradicting the order", edit: func(s *ShopifyOrder) {
			s.UpdatedAt = later
			s.CancelledAt = later
		}, want: []string{"order.cancelled", "order.snapshot_applied"}, wantOverride: "cannot cancel"},
		{name: "newer snapshot over-refunding", edit: func(s *ShopifyOrder) {
			s.UpdatedAt = later
			s.Refunds = append(s.Refunds, ShopifyRefund{ID: 8000000000000000002, CreatedAt: later,
				Transactions: []ShopifyTransaction{{Amount: Money{6000, "USD"}, Kind: "refund"}}})
		}, want: []string{"order.refunded", "order.snapshot_applied"}, wantOverride: "refund exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &Order{}
			evs, err := o.ApplyShopifySnapshot(base, demoShop)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				o.Apply(e)
			}
			before := o.Snapshot()
			s := loadShopifyOrder(t)
			tt.edit(&s)
			evs, err = o.ApplyShopifySnapshot(s, demoShop)
			if !reflect.DeepEqual(before, o.Snapshot()) {
				t.Fatal("ApplyShopifySnapshot mutated the order")
			}
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, e := range evs {
				types = append(types, e.EventType())
				o.Apply(e)
			}
			if !reflect.DeepEqual(types, tt.want) {
				t.Fatalf("events = %v, want %v", types, tt.want)
			}
			var overrides []Override
			if len(evs) > 0 {
				overrides = evs[len(evs)-1].(OrderSnapshotApplied).Overrides
			}
			if got := fmt.Sprint(overrides); (tt.wantOverride == "") != (len(overrides) == 0) || !strings.Contains(got, tt.wantOverride) {
				t.Fatalf("overrides = %s, want one saying %q", got, tt.wantOverride)
			}
			if len(evs) > 0 && !o.Snapshot().ShopifyUpdatedAt.Equal(later) {
				t.Fatalf("shopify_updated_at = %v, want %v", o.Snapshot().ShopifyUpdatedAt, later)
			}
		})
	}
}

func TestApplyShopifySnapshotCancelledUnpaid(t *testing.T) {
	s := loadShopifyOrder(t)
	s.FinancialStatus, s.Fulfillments, s.Refunds = "voided", nil, nil
	s.CancelledAt, s.CancelReason = s.UpdatedAt, ""
	o := &Order{}
	evs, err := o.ApplyShopifySnapshot(s, demoShop)
	if err != nil || len(evs) != 3 {
		t.Fatalf("got %v, %v", evs, err)
	}
	for _, e := range evs {
		o.Apply(e)
	}
	if st := o.Snapshot(); st.Status != StatusCancelled || st.FinancialStatus != FinancialVoided || st.CancelReason != "other" {
		t.Fatalf("state = %+v", st)
	}
}

func TestApplyShopifySnapshotRejectsForeignOrder(t *testing.T) {
	o := &Order{}
	run(t, o, place)
	s := loadShopifyOrder(t)
	var ve *ValidationError
	if _, err := o.ApplyShopifySnapshot(s, demoShop); !errors.As(err, &ve) {
		t.Fatalf("err = %v, want *ValidationError", err)
	}
}

func TestDecodeShopifyInventoryLevel(t *testing.T) {
	l, err := DecodeShopifyInventoryLevel([]byte(`{"inventory_item_id":9007199254740993,"location_id":"655441491","available":-2,"updated_at":"2024-03-01T10:00:00-05:00"}`))
	if err != nil || l.InventoryItemID != 9007199254740993 || l.LocationID != 655441491 || l.Available != -2 || !l.Tracked {
		t.Fatalf("got %+v, %v", l, err)
	}
	l, err = DecodeShopifyInventoryLevel([]byte(`{"inventory_item_id":1,"location_id":2,"available":null,"updated_at":"2024-03-01T10:00:00Z"}`))
	if err != nil || l.Tracked {
		t.Fatalf("untracked: got %+v, %v", l, err)
	}
	var ve *ValidationError
	if _, err := DecodeShopifyInventoryLevel([]byte(`{"location_id":2,"available":1}`)); !errors.As(err, &ve) || len(ve.Fields) != 2 {
		t.Fatalf("missing fields: %v", err)
	}
}

func FuzzDecodeShopifyOrder(f *testing.F) {
	body, err := os.ReadFile("testdata/shopify_order.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body)
	f.Add([]byte(`{"id":"1","name":"#1","currency":"JPY","created_at":"2024-03-01T10:00:00+09:00","updated_at":"2024-03-01T10:00:00+09:00","total_price":1,"subtotal_price":"1","line_items":[{"id":2,"title":"T","quantity":1,"price":"1.0"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := DecodeShopifyOrder(body)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("decode error is not a *ValidationError: %v", err)
			}
			return
		}
		if err := CheckJSON(body); err != nil {
			t.Fatalf("decoded a body that is not processed as sent: %v", err)
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("decoded order does not re-validate: %v", err)
		}
		o := &Order{}
		evs, err := o.ApplyShopifySnapshot(s, demoShop)
		if err != nil {
			return // a consistent payload can still break a business rule (over-fulfilment)
		}
		for _, e := range evs {
			o.Apply(e)
		}
		replayed, err := NewOrderFromHistory(roundTrip(t, evs))
		if err != nil || !reflect.DeepEqual(replayed.Snapshot(), o.Snapshot()) {
			t.Fatalf("replay differs: %v", err)
		}
	})
}

// PostgreSQL cannot store U+0000, so a body holding one is refused as
// invalid (recorded as failed, never retried); the text "\u0000" after a
// literal backslash is ordinary data.
func TestDecodeShopifyOrderRefusesNUL(t *testing.T) {
	order := func(title string) []byte {
		return []byte(`{"id":1,"name":"#1","currency":"USD","created_at":"2024-03-01T10:00:00Z","updated_at":"2024-03-01T10:00:00Z",
			"total_price":"1.00","subtotal_price":"1.00","line_items":[{"id":2,"variant_id":3,"sku":"TEA","title":"` + title + `","quantity":1,"price":"1.00"}]}`)
	}
	for _, title := range []string{`Tea\u0000`, `\\\u0000`, `a\\\\\u0000b`} {
		var ve *ValidationError
		if _, err := DecodeShopifyOrder(order(title)); !errors.As(err, &ve) || !strings.Contains(err.Error(), "U+0000") {
			t.Errorf("title %s: %v, want a validation error naming U+0000", title, err)
		}
	}
	for _, title := range []string{`\\u0000`, `u0000`, `\\\\u0000`} {
		if _, err := DecodeShopifyOrder(order(title)); err != nil {
			t.Errorf("title %s: %v", title, err)
		}
	}
}
