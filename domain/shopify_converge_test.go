package domain

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// orderLife is one Shopify order's history as Shopify sends it: a snapshot
// after every change, and the refunds/create and fulfillments/* bodies of
// the changes that have them.
type orderLife struct {
	snapshots    []ShopifyOrder
	refunds      []ShopifyRefund
	fulfillments []ShopifyFulfillment
}

// lifeGen makes random, Shopify-faithful order lives.
type lifeGen struct {
	r      *rand.Rand
	s      ShopifyOrder
	at     time.Time
	nextID int64
	life   orderLife
}

func (g *lifeGen) id() int64 { g.nextID++; return 5000000000000000000 + g.nextID }

func (g *lifeGen) usd(minor int64) Money { return Money{Amount: minor, Currency: "USD"} }

// retotal sets the current totals from the current lines and refunds.
func (g *lifeGen) retotal() {
	var sub int64
	for _, li := range g.s.LineItems {
		sub += int64(li.CurrentQuantity) * li.Price.Amount
	}
	var refunded int64
	for _, r := range g.s.Refunds {
		refunded += r.Amount()
	}
	g.s.CurrentSubtotalPrice = g.usd(sub)
	g.s.CurrentShipping = g.usd(500)
	g.s.CurrentTotalTax = g.usd(sub / 10)
	g.s.CurrentTotalPrice = g.usd(max(0, sub+500+sub/10-refunded))
	g.s.PaidInFull = g.usd(g.s.CurrentTotalPrice.Amount + refunded)
}

func (g *lifeGen) addLine() {
	q := 1 + g.r.IntN(3)
	sku := ""
	if g.r.IntN(4) > 0 { // Shopify sends sku: null for some variants
		sku = fmt.Sprintf("SKU-%d", g.r.IntN(5))
	}
	g.s.LineItems = append(g.s.LineItems, ShopifyLineItem{ID: g.id(), VariantID: g.id(), SKU: sku,
		Title: "Item", Quantity: q, CurrentQuantity: q, Price: g.usd(int64(100 * (1 + g.r.IntN(50))))})
}

// snapshot records the order as it is now, a minute after the last change.
func (g *lifeGen) snapshot(statusOnly bool) {
	g.at = g.at.Add(time.Duration(1+g.r.IntN(5)) * time.Minute)
	g.s.UpdatedAt = g.at
	s := g.s
	s.Tags = slices.Clone(g.s.Tags)
	s.LineItems = slices.Clone(g.s.LineItems)
	s.Fulfillments = slices.Clone(g.s.Fulfillments)
	s.Refunds = slices.Clone(g.s.Refunds)
	if statusOnly { // the statuses without the arrays behind them
		s.Fulfillments, s.Refunds = nil, nil
	}
	g.life.snapshots = append(g.life.snapshots, s)
}

func (g *lifeGen) unshipped() []ShopifyFulfillmentLine {
	shipped := map[int64]int{}
	for _, f := range g.s.Fulfillments {
		for _, l := range f.LineItems {
			shipped[l.ID] += l.Quantity
		}
	}
	var out []ShopifyFulfillmentLine
	for _, li := range g.s.LineItems {
		if left := li.CurrentQuantity - shipped[li.ID]; left > 0 {
			out = append(out, ShopifyFulfillmentLine{ID: li.ID, Quantity: 1 + g.r.IntN(left)})
		}
	}
	return out
}

func (g *lifeGen) fulfil() bool {
	lines := g.unshipped()
	if len(lines) == 0 || !g.s.CancelledAt.IsZero() {
		return false
	}
	if g.r.IntN(2) == 0 {
		lines = lines[:1]
	}
	f := ShopifyFulfillment{ID: g.id(), OrderID: g.s.ID, Status: ShipmentSuccess, CreatedAt: g.at.Add(time.Second),
		UpdatedAt: g.at.Add(time.Second), TrackingCompany: "UPS", TrackingNumbers: []string{fmt.Sprintf("1Z%d", g.nextID)}, LineItems: lines}
	g.s.Fulfillments = append(g.s.Fulfillments, f)
	g.s.FulfillmentStatus = "partial"
	if len(g.unshipped()) == 0 {
		g.s.FulfillmentStatus = "fulfilled"
	}
	g.life.fulfillments = append(g.life.fulfillments, f)
	return true
}

func (g *lifeGen) refund(all bool) bool {
	if !g.s.paid() {
		return false
	}
	left := g.s.CurrentTotalPrice.Amount
	if left == 0 {
		return false
	}
	amount := left
	if !all {
		amount = 1 + g.r.Int64N(left)
	}
	r := ShopifyRefund{ID: g.id(), CreatedAt: g.at.Add(time.Second), Note: "damaged",
		Transactions: []ShopifyTransaction{{Amount: g.usd(amount), Kind: "refund", Status: "success"}}}
	if li := g.s.LineItems[0]; g.r.IntN(2) == 0 && li.CurrentQuantity > 0 {
		r.RefundLineItems = []ShopifyRefundLine{{LineItemID: li.ID, Quantity: 1}}
	}
	g.s.Refunds = append(g.s.Refunds, r)
	g.retotal()
	g.s.FinancialStatus = "partially_refunded"
	if g.s.CurrentTotalPrice.Amount == 0 {
		g.s.FinancialStatus = "refunded"
	}
	g.life.refunds = append(g.life.refunds, r)
	return true
}

func (g *lifeGen) edit() bool {
	if len(g.s.Fulfillments) > 0 || !g.s.CancelledAt.IsZero() || len(g.s.Refunds) > 0 {
		return false
	}
	switch g.r.IntN(3) {
	case 0:
		g.addLine()
	case 1: // remove a line: Shopify keeps it with current_quantity 0
		if i := g.r.IntN(len(g.s.LineItems)); len(g.s.LineItems) > 1 {
			g.s.LineItems[i].CurrentQuantity = 0
		}
	default:
		i := g.r.IntN(len(g.s.LineItems))
		g.s.LineItems[i].CurrentQuantity = g.r.IntN(g.s.LineItems[i].Quantity + 1)
	}
	g.retotal()
	if g.s.paid() && g.s.FinancialStatus == "paid" {
		g.s.FinancialStatus = "partially_paid"
		out := g.usd(g.r.Int64N(g.s.CurrentTotalPrice.Amount + 1))
		g.s.TotalOutstanding = &out
	}
	return true
}

// newLife makes a life of up to steps changes, each followed by a snapshot.
func newLife(r *rand.Rand, steps int) orderLife {
	g := &lifeGen{r: r, at: time.Date(2026, 3, 1, 10, 0, 0, 0, time.FixedZone("EST", -5*3600))}
	g.s = ShopifyOrder{ID: 1<<53 + g.r.Int64N(1<<40), Name: "#1001", Email: "jane@example.com", Currency: "USD",
		CreatedAt: g.at, FinancialStatus: []string{"pending", "authorized", "paid"}[g.r.IntN(3)],
		Customer: ShopifyCustomer{ID: 7000000000000000001, FirstName: "Jane", LastName: "Doe"}}
	for range 1 + g.r.IntN(3) {
		g.addLine()
	}
	g.retotal()
	g.s.SubtotalPrice, g.s.TotalPrice, g.s.TotalTax, g.s.TotalShipping = g.s.CurrentSubtotalPrice, g.s.CurrentTotalPrice, g.s.CurrentTotalTax, g.s.CurrentShipping
	g.s.TotalDiscounts, g.s.CurrentTotalDiscounts = g.usd(0), g.usd(0)
	g.snapshot(false)
	for range steps {
		changed := true
		switch g.r.IntN(9) {
		case 0:
			if changed = !g.s.paid() && g.s.CancelledAt.IsZero(); changed {
				g.s.FinancialStatus, g.s.TotalOutstanding = "paid", nil
			}
		case 1, 2:
			changed = g.fulfil()
		case 3:
			changed = g.refund(g.r.IntN(2) == 0)
		case 4:
			changed = g.edit()
		case 5:
			if changed = g.s.CancelledAt.IsZero() && g.s.FulfillmentStatus == ""; changed {
				g.s.CancelledAt, g.s.CancelReason = g.at.Add(time.Second), []string{"customer", "fraud", ""}[g.r.IntN(3)]
				if !g.s.paid() {
					g.s.FinancialStatus = "voided"
				} else if g.r.IntN(2) == 0 {
					g.s.FinancialStatus = "refunded" // cancelled after payment, refunded without a refunds[] entry
				}
			}
		case 6:
			g.s.Tags = append(g.s.Tags, fmt.Sprintf("tag%d", g.r.IntN(9)))
		case 7:
			g.s.Note = fmt.Sprintf("note %d", g.r.IntN(100))
		default:
			g.s.Test = !g.s.Test
		}
		if changed {
			g.snapshot(g.r.IntN(5) == 0)
		}
	}
	return g.life
}

// delivery is one webhook of a life: a snapshot, a refund or a fulfilment.
type delivery struct {
	snapshot    *ShopifyOrder
	refund      *ShopifyRefund
	fulfillment *ShopifyFulfillment
}

// deliveries shuffles a life's webhooks, repeating some and dropping some,
// though never the newest snapshot.
func deliveries(r *rand.Rand, life orderLife) []delivery {
	var out []delivery
	last := len(life.snapshots) - 1
	for i := range life.snapshots {
		if i != last && r.IntN(4) == 0 {
			continue // lost
		}
		for range 1 + r.IntN(2) {
			out = append(out, delivery{snapshot: &life.snapshots[i]})
		}
	}
	for i := range life.refunds {
		if r.IntN(3) > 0 {
			out = append(out, delivery{refund: &life.refunds[i]})
		}
	}
	for i := range life.fulfillments {
		if r.IntN(3) > 0 {
			out = append(out, delivery{fulfillment: &life.fulfillments[i]})
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// deliver applies one webhook as the processor does: the order must exist
// for a refund or fulfilment, which otherwise waits for its snapshot.
func deliver(t *testing.T, o *Order, d delivery) {
	t.Helper()
	var (
		evs []Event
		err error
	)
	switch {
	case d.snapshot != nil:
		evs, err = o.ApplyShopifySnapshot(*d.snapshot, demoShop)
	case o.Version() == 0:
		return
	case d.refund != nil:
		evs, err = o.ApplyShopifyRefund(*d.refund)
	default:
		evs, err = o.ApplyShopifyFulfillment(*d.fulfillment)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		o.Apply(e)
	}
}

// shown is what the API and the app show of an order; PaidAt is when we
// learnt of the payment, which depends on which delivery told us first.
func shown(s OrderState) OrderState {
	s.Version, s.PaidAt = 0, time.Time{}
	return s
}

func TestShopifyOrderConvergesToNewestSnapshot(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 25))
	for run := range 2000 {
		life := newLife(r, r.IntN(12))
		newest := life.snapshots[len(life.snapshots)-1]
		want := &Order{}
		deliver(t, want, delivery{snapshot: &newest})
		got := &Order{}
		ds := deliveries(r, life)
		for _, d := range ds {
			deliver(t, got, d)
		}
		if g, w := shown(got.Snapshot()), shown(want.Snapshot()); !reflect.DeepEqual(g, w) {
			t.Fatalf("run %d (seed %d), %d deliveries of %d snapshots: converged to\n%+v\nwant\n%+v", run, seed, len(ds), len(life.snapshots), g, w)
		}
		checkShowsSnapshot(t, got.Snapshot(), newest)
	}
}

// checkShowsSnapshot compares an order with a snapshot field by field, as
// Shopify states them, independently of how the order got there.
func checkShowsSnapshot(t *testing.T, o OrderState, s ShopifyOrder) {
	t.Helper()
	fs := FulfillmentStatus(s.FulfillmentStatus)
	if fs == "" {
		fs = FulfillmentUnfulfilled
	}
	var problems []string
	check := func(field string, got, want any) {
		if !reflect.DeepEqual(got, want) {
			problems = append(problems, fmt.Sprintf("%s = %v, want %v", field, got, want))
		}
	}
	check("financial_status", string(o.FinancialStatus), s.FinancialStatus)
	check("fulfillment_status", o.FulfillmentStatus, fs)
	check("cancelled_at", o.CancelledAt, zeroOrUTC(s.CancelledAt))
	check("total", o.Total, s.CurrentTotalPrice.Amount)
	check("subtotal", o.Subtotal, s.CurrentSubtotalPrice.Amount)
	check("original_total", o.Totals.OriginalTotal, s.TotalPrice.Amount)
	check("tax", o.Totals.Tax, s.CurrentTotalTax.Amount)
	check("shipping", o.Totals.Shipping, s.CurrentShipping.Amount)
	check("tags", strings.Join(o.Tags, ","), strings.Join(s.Tags, ","))
	check("note", o.Note, s.Note)
	check("test", o.Test, s.Test)
	check("shopify_updated_at", o.ShopifyUpdatedAt, s.UpdatedAt.UTC())
	check("lines", len(o.Lines), len(s.LineItems))
	for i, li := range s.LineItems {
		if i < len(o.Lines) {
			check(fmt.Sprintf("lines[%d].quantity", i), o.Lines[i].Quantity, li.CurrentQuantity)
		}
	}
	if len(s.Fulfillments) > 0 || s.FulfillmentStatus == "" {
		check("fulfillments", len(o.Fulfillments), len(s.Fulfillments))
	}
	if len(problems) > 0 {
		t.Fatalf("order differs from its newest snapshot: %s", strings.Join(problems, "; "))
	}
}

func zeroOrUTC(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// shopifyOrderAt applies snapshot s to o and returns what it raised.
func applySnapshot(t *testing.T, o *Order, s ShopifyOrder) []Event {
	t.Helper()
	evs, err := o.ApplyShopifySnapshot(s, demoShop)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		o.Apply(e)
	}
	return evs
}

// unpaidOrder is the fixture order before anything happened to it.
func unpaidOrder(t *testing.T) ShopifyOrder {
	s := loadShopifyOrder(t)
	s.FinancialStatus, s.FulfillmentStatus, s.Fulfillments, s.Refunds = "paid", "", nil, nil
	s.CurrentTotalPrice, s.PaidInFull = s.TotalPrice, s.TotalPrice
	return s
}

func overridesOf(evs []Event) []Override {
	for _, e := range evs {
		if a, ok := e.(OrderSnapshotApplied); ok {
			return a.Overrides
		}
	}
	return nil
}

func TestShopifySnapshotNeverFreezes(t *testing.T) {
	later := func(s ShopifyOrder, d time.Duration) ShopifyOrder {
		s.UpdatedAt = s.UpdatedAt.Add(d)
		return s
	}
	tests := []struct {
		name  string
		local step
		next  func(s ShopifyOrder) ShopifyOrder
		want  func(st OrderState) bool
		field string // an override field recorded
	}{
		{"local cancel, then Shopify fulfils", func(o *Order) ([]Event, error) { return o.Cancel("customer", o.s.PlacedAt) },
			func(s ShopifyOrder) ShopifyOrder {
				s = later(s, time.Hour)
				s.FulfillmentStatus = "fulfilled"
				s.Fulfillments = []ShopifyFulfillment{{ID: 61, Status: "success", CreatedAt: s.UpdatedAt, UpdatedAt: s.UpdatedAt,
					LineItems: []ShopifyFulfillmentLine{{ID: s.LineItems[0].ID, Quantity: 2}, {ID: s.LineItems[1].ID, Quantity: 3}}}}
				return s
			},
			func(st OrderState) bool {
				return st.Status == StatusFulfilled && st.CancelledAt.IsZero() && st.Lines[1].FulfilledQuantity == 3
			}, "local_cancel"},
		{"local refund, then Shopify refunds", func(o *Order) ([]Event, error) {
			return o.Refund("local-1", o.s.Paid, nil, o.s.PlacedAt, "")
		},
			func(s ShopifyOrder) ShopifyOrder {
				s = later(s, time.Hour)
				s.FinancialStatus = "refunded"
				s.Refunds = []ShopifyRefund{{ID: 81, CreatedAt: s.UpdatedAt, Note: "broken",
					Transactions: []ShopifyTransaction{{Amount: s.TotalPrice, Kind: "refund", Status: "success"}}}}
				s.CurrentTotalPrice = Money{0, "USD"} // PaidInFull stays: current total plus refunds
				return s
			},
			func(st OrderState) bool {
				return st.Status == StatusRefunded && slices.Equal(st.Refunds, []string{"81"}) && st.Refunded == 6497 &&
					st.RefundDetails[0].Reason == "broken"
			}, "local_refund"},
		{"Shopify edit adding a line, then a fulfilment of it", nil,
			func(s ShopifyOrder) ShopifyOrder {
				s = later(s, time.Hour)
				s.LineItems = append(slices.Clone(s.LineItems), ShopifyLineItem{ID: 9000000000000000003, Title: "Tea", Quantity: 1,
					CurrentQuantity: 1, Price: Money{1500, "USD"}})
				s.CurrentSubtotalPrice, s.CurrentTotalPrice, s.PaidInFull = Money{6997, "USD"}, Money{7997, "USD"}, Money{7997, "USD"}
				s.FulfillmentStatus = "partial"
				s.Fulfillments = []ShopifyFulfillment{{ID: 62, Status: "success", CreatedAt: s.UpdatedAt, UpdatedAt: s.UpdatedAt,
					TrackingNumbers: []string{"1Z1"}, LineItems: []ShopifyFulfillmentLine{{ID: 9000000000000000003, Quantity: 1}}}}
				return s
			},
			func(st OrderState) bool {
				return len(st.Lines) == 3 && st.Lines[2].FulfilledQuantity == 1 && st.Total == 7997 &&
					st.Totals.OriginalTotal == 6497 && st.Shipments[0].TrackingNumbers[0] == "1Z1" && st.Status == StatusPartiallyFulfilled
			}, ""},
		{"status-only snapshot: fulfilled without fulfillments", nil,
			func(s ShopifyOrder) ShopifyOrder {
				s = later(s, time.Hour)
				s.FulfillmentStatus = "fulfilled"
				return s
			},
			func(st OrderState) bool {
				return st.FulfillmentStatus == FulfillmentFulfilled && st.Status == StatusFulfilled && st.Lines[0].FulfilledQuantity == 2
			}, ""},
		{"cancelled after payment, refunded without refunds", nil,
			func(s ShopifyOrder) ShopifyOrder {
				s = later(s, time.Hour)
				s.FinancialStatus, s.CancelledAt, s.CancelReason = "refunded", s.UpdatedAt, "customer"
				return s
			},
			func(st OrderState) bool {
				return st.Status == StatusCancelled && st.FinancialStatus == FinancialRefunded && st.Refunded == st.Paid && st.Paid == 6497
			}, ""},
		{"authorized stays authorized", nil,
			func(s ShopifyOrder) ShopifyOrder {
				s = later(s, time.Hour)
				s.FinancialStatus = "authorized"
				return s
			},
			func(st OrderState) bool { return st.FinancialStatus == FinancialAuthorized && st.Paid == 0 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &Order{}
			first := unpaidOrder(t)
			applySnapshot(t, o, first)
			if tt.local != nil {
				run(t, o, tt.local)
			}
			evs := applySnapshot(t, o, tt.next(first))
			if st := o.Snapshot(); !tt.want(st) {
				t.Fatalf("state = %+v", st)
			}
			got := overridesOf(evs)
			if tt.field == "" && len(got) > 0 || tt.field != "" && !slices.ContainsFunc(got, func(d Override) bool { return d.Field == tt.field }) {
				t.Fatalf("overrides = %+v, want one on %q", got, tt.field)
			}
			shownFields := []string{"status", "financial_status", "fulfillment_status", "cancelled", "total", "refunded", "lines"}
			if tt.field != "" && !slices.ContainsFunc(got, func(d Override) bool { return slices.Contains(shownFields, d.Field) && d.Before != d.After }) {
				t.Fatalf("overrides = %+v, want what the order showed before and after", got)
			}
		})
	}
}

func TestShopifyRefundAndFulfillmentAreIdempotentWithSnapshots(t *testing.T) {
	o := &Order{}
	first := unpaidOrder(t)
	applySnapshot(t, o, first)
	r := ShopifyRefund{ID: 81, CreatedAt: first.UpdatedAt.Add(time.Minute),
		Transactions: []ShopifyTransaction{{Amount: Money{500, "USD"}, Kind: "refund", Status: "success"}}}
	f := ShopifyFulfillment{ID: 61, Status: "success", CreatedAt: r.CreatedAt, UpdatedAt: r.CreatedAt,
		LineItems: []ShopifyFulfillmentLine{{ID: first.LineItems[0].ID, Quantity: 1}}}
	for range 2 { // redelivered: the second changes nothing
		for _, apply := range []func() ([]Event, error){
			func() ([]Event, error) { return o.ApplyShopifyRefund(r) },
			func() ([]Event, error) { return o.ApplyShopifyFulfillment(f) },
		} {
			evs, err := apply()
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				o.Apply(e)
			}
		}
	}
	if st := o.Snapshot(); st.Refunded != 500 || st.Lines[0].FulfilledQuantity != 1 || st.FinancialStatus != FinancialPartiallyRefunded {
		t.Fatalf("state = %+v", st)
	}
	// Shopify's next snapshot carries both: nothing is counted twice.
	next := first
	next.UpdatedAt = r.CreatedAt.Add(time.Second)
	next.FinancialStatus, next.FulfillmentStatus = "partially_refunded", "partial"
	next.Refunds, next.Fulfillments = []ShopifyRefund{r}, []ShopifyFulfillment{f}
	next.CurrentTotalPrice = Money{5997, "USD"} // PaidInFull stays: current total plus refunds
	evs := applySnapshot(t, o, next)
	if st := o.Snapshot(); st.Refunded != 500 || st.Lines[0].FulfilledQuantity != 1 || len(overridesOf(evs)) > 0 {
		t.Fatalf("state = %+v, overrides %+v", st, overridesOf(evs))
	}
	// A tracking update after the snapshot moves the shipment on.
	f.UpdatedAt, f.TrackingNumbers = f.UpdatedAt.Add(time.Hour), []string{"1Z2"}
	evs, err := o.ApplyShopifyFulfillment(f)
	if err != nil || len(evs) != 1 {
		t.Fatalf("tracking update: %v, %v", evs, err)
	}
	o.Apply(evs[0])
	if st := o.Snapshot(); st.Shipments[0].TrackingNumbers[0] != "1Z2" {
		t.Fatalf("shipments = %+v", st.Shipments)
	}
}

func TestDeleteInShopifyHidesOnce(t *testing.T) {
	o := &Order{}
	applySnapshot(t, o, unpaidOrder(t))
	evs, err := o.DeleteInShopify(t0)
	if err != nil || len(evs) != 1 {
		t.Fatalf("%v, %v", evs, err)
	}
	o.Apply(evs[0])
	if evs, _ := o.DeleteInShopify(t0); !o.Snapshot().Deleted || len(evs) != 0 {
		t.Fatal("second delete raised events, or the order is not deleted")
	}
}

// A refund that arrives before the snapshot carrying it lowers the current
// quantities and total at once, as Shopify's current_* fields do, and the
// snapshot that then lists it changes them no further.
func TestShopifyRefundLowersCurrentFiguresUntilItsSnapshot(t *testing.T) {
	o := &Order{}
	first := unpaidOrder(t)
	applySnapshot(t, o, first)
	line := first.LineItems[0]
	before := o.Snapshot()
	r := ShopifyRefund{ID: 82, CreatedAt: first.UpdatedAt.Add(time.Minute),
		Transactions:    []ShopifyTransaction{{Amount: Money{line.Price.Amount, first.Currency}, Kind: "refund", Status: "success"}},
		RefundLineItems: []ShopifyRefundLine{{LineItemID: line.ID, Quantity: 1}}}
	evs, err := o.ApplyShopifyRefund(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		o.Apply(e)
	}
	after := o.Snapshot()
	if after.Total != before.Total-line.Price.Amount || after.Lines[0].Quantity != before.Lines[0].Quantity-1 {
		t.Fatalf("after the refund: total %d, quantity %d; want %d, %d", after.Total, after.Lines[0].Quantity,
			before.Total-line.Price.Amount, before.Lines[0].Quantity-1)
	}
}

// A snapshot newer than the last one applied but older than a refund that
// arrived directly predates the refund: its current figures are lowered by it.
func TestShopifySnapshotOlderThanADirectRefundKeepsItsLoweredFigures(t *testing.T) {
	o := &Order{}
	first := unpaidOrder(t)
	applySnapshot(t, o, first)
	line := first.LineItems[0]
	r := ShopifyRefund{ID: 83, CreatedAt: first.UpdatedAt.Add(time.Minute),
		Transactions:    []ShopifyTransaction{{Amount: Money{line.Price.Amount, first.Currency}, Kind: "refund", Status: "success"}},
		RefundLineItems: []ShopifyRefundLine{{LineItemID: line.ID, Quantity: 1}}}
	evs, err := o.ApplyShopifyRefund(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		o.Apply(e)
	}
	lowered := o.Snapshot()
	between := first
	between.UpdatedAt = first.UpdatedAt.Add(30 * time.Second)
	between.Tags = []string{"vip"}
	applySnapshot(t, o, between)
	got := o.Snapshot()
	if got.Total != lowered.Total || got.Lines[0].Quantity != lowered.Lines[0].Quantity || got.Refunded != lowered.Refunded {
		t.Fatalf("after an older snapshot: total %d, quantity %d, refunded %d; want %d, %d, %d", got.Total,
			got.Lines[0].Quantity, got.Refunded, lowered.Total, lowered.Lines[0].Quantity, lowered.Refunded)
	}
	if len(got.Tags) != 1 {
		t.Fatalf("the snapshot's tags were not applied: %v", got.Tags)
	}
}

// A full refund that arrived directly empties every line; a snapshot it
// postdates, stating a partial fulfilment, stays partial: the refund is news
// about money, not about shipping.
func TestShopifyDirectRefundDoesNotMoveTheStatedFulfilmentStatus(t *testing.T) {
	o := &Order{}
	first := unpaidOrder(t)
	if len(first.LineItems) < 2 {
		t.Fatalf("the fixture needs two lines, has %d", len(first.LineItems))
	}
	applySnapshot(t, o, first)
	var lines []ShopifyRefundLine
	for _, li := range first.LineItems {
		lines = append(lines, ShopifyRefundLine{LineItemID: li.ID, Quantity: li.CurrentQuantity})
	}
	r := ShopifyRefund{ID: 84, CreatedAt: first.UpdatedAt.Add(time.Hour), RefundLineItems: lines,
		Transactions: []ShopifyTransaction{{Amount: first.TotalPrice, Kind: "refund", Status: "success"}}}
	evs, err := o.ApplyShopifyRefund(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		o.Apply(e)
	}
	shipped := first
	shipped.UpdatedAt = first.UpdatedAt.Add(time.Minute)
	shipped.FulfillmentStatus = "partial"
	li := first.LineItems[0]
	shipped.Fulfillments = []ShopifyFulfillment{{ID: 91, OrderID: first.ID, Status: ShipmentSuccess,
		CreatedAt: shipped.UpdatedAt, UpdatedAt: shipped.UpdatedAt,
		LineItems: []ShopifyFulfillmentLine{{ID: li.ID, Quantity: li.CurrentQuantity}}}}
	applySnapshot(t, o, shipped)
	got := o.Snapshot()
	if got.FulfillmentStatus != FulfillmentPartial || got.FinancialStatus != FinancialRefunded {
		t.Fatalf("fulfilment %s, financial %s; want partial, refunded", got.FulfillmentStatus, got.FinancialStatus)
	}
}
