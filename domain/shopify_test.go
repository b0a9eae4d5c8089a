package domain

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

const demoShop = "demo.myshopify.com"

// shopifyOrder is the Shopify adapter's test order (its testdata/order.json)
// as the adapter decodes it.
func loadShopifyOrder(t testing.TB) ShopifyOrder {
	t.Helper()
	usd := func(minor int64) Money { return Money{Amount: minor, Currency: "USD"} }
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return ShopifyOrder{
		ID: 5000000000000000123, Name: "#1001", Email: "Jane.Doe@example.com", Currency: "USD",
		CreatedAt: at("2024-03-01T10:00:00-05:00"), UpdatedAt: at("2024-03-02T09:30:00-05:00"),
		FinancialStatus: "partially_refunded", FulfillmentStatus: "partial", Tags: []string{"vip", "wholesale"},
		TotalPrice: usd(6497), SubtotalPrice: usd(5497), TotalDiscounts: usd(0), TotalTax: usd(0), TotalShipping: usd(0),
		CurrentTotalPrice: usd(6497), PaidInFull: usd(6497), CurrentSubtotalPrice: usd(5497), CurrentTotalDiscounts: usd(0), CurrentTotalTax: usd(0), CurrentShipping: usd(0),
		Customer: ShopifyCustomer{ID: 7000000000000000001, FirstName: "Jane", LastName: "Doe", Email: "jane.doe@example.com"},
		LineItems: []ShopifyLineItem{
			{ID: 9000000000000000001, VariantID: 4000000000000000001, SKU: "MUG-BLUE", Title: "Blue mug", Quantity: 2, CurrentQuantity: 2, Price: usd(1999)},
			{ID: 9000000000000000002, VariantID: 4000000000000000002, Title: "Sticker pack", Quantity: 3, CurrentQuantity: 3, Price: usd(500)},
		},
		Fulfillments: []ShopifyFulfillment{
			{ID: 6000000000000000001, Status: "success", CreatedAt: at("2024-03-01T15:00:00-05:00"), UpdatedAt: at("2024-03-01T15:00:00-05:00"),
				TrackingNumbers: []string{"1Z999"}, LineItems: []ShopifyFulfillmentLine{{ID: 9000000000000000001, Quantity: 2}}},
			{ID: 6000000000000000002, Status: "cancelled", CreatedAt: at("2024-03-01T16:00:00-05:00"), UpdatedAt: at("2024-03-01T16:00:00-05:00"),
				LineItems: []ShopifyFulfillmentLine{{ID: 9000000000000000002, Quantity: 3}}},
		},
		Refunds: []ShopifyRefund{{ID: 8000000000000000001, CreatedAt: at("2024-03-02T09:00:00-05:00"),
			Transactions:    []ShopifyTransaction{{Amount: usd(500), Kind: "refund", Status: "success"}},
			RefundLineItems: []ShopifyRefundLine{{LineItemID: 9000000000000000002, Quantity: 1}}}},
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
		st.Email != "Jane.Doe@example.com" || st.CustomerName != "Jane Doe" || st.Total != 6497 || st.Totals.OriginalTotal != 6497 || st.Paid != 6497 || st.Refunded != 500 ||
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
