package domain

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// orderLife is one Shopify order's history as Shopify sends it: a snapshot
// after every change, and the refunds/create and fulfillments/* bodies of
// the changes that have them. truths[i] is what snapshots[i] cannot always
// say: the order as it really was then.
type orderLife struct {
	snapshots    []ShopifyOrder
	truths       []lifeTruth
	refunds      []ShopifyRefund
	fulfillments []ShopifyFulfillment
}

// lifeTruth is what an order shows when a snapshot is taken, as far as the
// snapshot states it: lines a status-only snapshot cannot tell about are
// absent from shipped, and refunded and paid are -1 when it does not list them.
type lifeTruth struct {
	shipped  map[string]int // units shipped per line, returns included
	refunded int64
	paid     int64
}

// lineTruth is what happened to a line's units: removed by edits, refunded
// before shipping (restock "cancel") or after (restock "return"), shipped.
type lineTruth struct {
	removed, cancelled, returned, shipped int
}

// lifeGen makes random, Shopify-faithful order lives: per-line quantities,
// refunds that lower current quantities with their restock type, totals
// consistent in one of several currencies, and every financial status.
type lifeGen struct {
	r        *rand.Rand
	s        ShopifyOrder
	lines    []lineTruth // by index of s.LineItems
	received int64       // money the customer paid
	// lineValue is what the refunded units were worth: current totals
	// drop by the refunds, not by the units they took back.
	lineValue int64
	at        time.Time
	// gap is how long after the last snapshot a change happens: a second,
	// or none for a change in the same second (see snapshot).
	gap    time.Duration
	nextID int64
	life   orderLife
}

func (g *lifeGen) id() int64 { g.nextID++; return 5000000000000000000 + g.nextID }

func (g *lifeGen) money(minor int64) Money { return Money{Amount: minor, Currency: g.s.Currency} }

// current is the line's current_quantity: what is neither removed nor refunded.
func (g *lifeGen) current(i int) int {
	l := g.lines[i]
	return g.s.LineItems[i].Quantity - l.removed - l.cancelled - l.returned
}

// unshipped is what the line still has to ship.
func (g *lifeGen) unshipped(i int) int {
	l := g.lines[i]
	return g.s.LineItems[i].Quantity - l.removed - l.cancelled - l.shipped
}

func (g *lifeGen) refundedTotal() (all int64) {
	for _, r := range g.s.Refunds {
		all += r.Amount()
	}
	return all
}

// retotal sets current quantities, totals and statuses from the lines.
// Prices are multiples of 10 minor units, so the 10% tax is exact and a
// refunded unit returns its price plus its tax.
func (g *lifeGen) retotal() {
	var sub int64
	for i := range g.s.LineItems {
		g.s.LineItems[i].CurrentQuantity = g.current(i)
		sub += int64(g.current(i)) * g.s.LineItems[i].Price.Amount
	}
	refunded := g.refundedTotal()
	g.s.CurrentSubtotalPrice = g.money(sub)
	g.s.CurrentTotalTax = g.money(sub / 10)
	g.s.CurrentTotalPrice = g.money(sub + sub/10 + g.s.CurrentShipping.Amount + g.lineValue - refunded)
	g.s.PaidInFull = g.money(g.s.CurrentTotalPrice.Amount + refunded)
	shipped, open := false, false
	for i := range g.s.LineItems {
		g.s.LineItems[i].FulfillmentStatus = ""
		switch {
		case g.lines[i].shipped > 0 && g.unshipped(i) == 0:
			g.s.LineItems[i].FulfillmentStatus = "fulfilled"
		case g.lines[i].shipped > 0:
			g.s.LineItems[i].FulfillmentStatus = "partial"
		}
		shipped = shipped || g.lines[i].shipped > 0
		open = open || g.unshipped(i) > 0
	}
	switch {
	case shipped && open:
		g.s.FulfillmentStatus = "partial"
	case shipped:
		g.s.FulfillmentStatus = "fulfilled"
	default:
		g.s.FulfillmentStatus = ""
	}
}

func (g *lifeGen) addLine() {
	q := 1 + g.r.IntN(3)
	sku := ""
	if g.r.IntN(4) > 0 { // Shopify sends sku: null for some variants
		sku = fmt.Sprintf("SKU-%d", g.r.IntN(5))
	}
	g.s.LineItems = append(g.s.LineItems, ShopifyLineItem{ID: g.id(), VariantID: g.id(), SKU: sku,
		Title: "Item", Quantity: q, CurrentQuantity: q, Price: g.money(int64(100 * (1 + g.r.IntN(50))))})
	g.lines = append(g.lines, lineTruth{})
}

// snapshot records the order as it is now, a few minutes after the last
// change. A status-only snapshot states statuses but leaves out the
// fulfillments, the refunds or both.
// snapshot records the order as Shopify shows it next. A tied snapshot
// shares the last one's updated_at, as two changes in one second do
// (Shopify's timestamps are whole seconds).
func (g *lifeGen) snapshot(statusOnly, tied bool) {
	if !tied {
		g.at = g.at.Add(time.Duration(1+g.r.IntN(5)) * time.Minute)
	}
	g.s.UpdatedAt = g.at
	s := g.s
	s.Tags = slices.Clone(g.s.Tags)
	s.LineItems = slices.Clone(g.s.LineItems)
	s.Fulfillments = slices.Clone(g.s.Fulfillments)
	s.Refunds = slices.Clone(g.s.Refunds)
	truth := lifeTruth{shipped: map[string]int{}, refunded: -1, paid: -1}
	leaveOut := 0
	if statusOnly {
		leaveOut = 1 + g.r.IntN(3) // 1: fulfillments, 2: refunds, 3: both
	}
	if leaveOut&1 != 0 {
		s.Fulfillments = nil
	}
	if leaveOut&2 != 0 {
		s.Refunds = nil
		s.PaidInFull = s.CurrentTotalPrice // what the adapter makes of a body without refunds
	} else {
		truth.refunded = g.refundedTotal()
		truth.paid = g.received
	}
	for i, li := range s.LineItems {
		// Without fulfillments, only a line stated fulfilled tells what it
		// shipped, and only with the refunds that returned units of it.
		stated := s.FulfillmentStatus == "fulfilled" || li.FulfillmentStatus == "fulfilled"
		if leaveOut&1 == 0 || stated && (leaveOut&2 == 0 || g.lines[i].returned == 0) {
			truth.shipped[strconv.FormatInt(li.ID, 10)] = g.lines[i].shipped
		}
	}
	g.life.snapshots = append(g.life.snapshots, s)
	g.life.truths = append(g.life.truths, truth)
}

func (g *lifeGen) fulfil() bool {
	if !g.s.CancelledAt.IsZero() {
		return false
	}
	var lines []ShopifyFulfillmentLine
	for i, li := range g.s.LineItems {
		if left := g.unshipped(i); left > 0 && (len(lines) == 0 || g.r.IntN(2) == 0) {
			q := 1 + g.r.IntN(left)
			g.lines[i].shipped += q
			lines = append(lines, ShopifyFulfillmentLine{ID: li.ID, Quantity: q})
		}
	}
	if len(lines) == 0 {
		return false
	}
	f := ShopifyFulfillment{ID: g.id(), OrderID: g.s.ID, Status: ShipmentSuccess, CreatedAt: g.at.Add(g.gap),
		UpdatedAt: g.at.Add(g.gap), TrackingCompany: "UPS", TrackingNumbers: []string{fmt.Sprintf("1Z%d", g.nextID)}, LineItems: lines}
	g.s.Fulfillments = append(g.s.Fulfillments, f)
	g.life.fulfillments = append(g.life.fulfillments, f)
	g.retotal()
	return true
}

// track gives the newest shipment a new tracking number (fulfillments/update).
func (g *lifeGen) track() bool {
	n := len(g.s.Fulfillments)
	if n == 0 {
		return false
	}
	f := g.s.Fulfillments[n-1]
	f.TrackingCompany, f.TrackingNumbers, f.UpdatedAt = "DHL", []string{fmt.Sprintf("JD%d", g.id())}, g.at.Add(g.gap)
	g.s.Fulfillments = append(slices.Clone(g.s.Fulfillments[:n-1]), f)
	g.life.fulfillments = append(g.life.fulfillments, f)
	return true
}

// cancelShipment cancels the newest successful shipment (fulfillments/update
// with status cancelled): its units are to ship again. Shipments whose
// units were returned stay.
func (g *lifeGen) cancelShipment() bool {
	i := slices.IndexFunc(g.s.Fulfillments, func(f ShopifyFulfillment) bool { return f.Status == ShipmentSuccess })
	for j := len(g.s.Fulfillments) - 1; j > i; j-- {
		if g.s.Fulfillments[j].Status == ShipmentSuccess {
			i = j
			break
		}
	}
	if i < 0 || !g.s.CancelledAt.IsZero() || slices.ContainsFunc(g.lines, func(l lineTruth) bool { return l.returned > 0 }) {
		return false
	}
	f := g.s.Fulfillments[i]
	f.Status, f.UpdatedAt = "cancelled", g.at.Add(g.gap)
	for _, fl := range f.LineItems {
		g.lines[slices.IndexFunc(g.s.LineItems, func(li ShopifyLineItem) bool { return li.ID == fl.ID })].shipped -= fl.Quantity
	}
	g.s.Fulfillments = slices.Clone(g.s.Fulfillments)
	g.s.Fulfillments[i] = f
	g.life.fulfillments = append(g.life.fulfillments, f)
	g.retotal()
	return true
}

// refundLines refunds units of lines: unshipped ones first (restock
// "cancel"), then shipped ones (restock "return"), all of them or one unit.
func (g *lifeGen) refundLines(all, shipped bool) ([]ShopifyRefundLine, int64) {
	var (
		out   []ShopifyRefundLine
		value int64
	)
	for i, li := range g.s.LineItems {
		l := &g.lines[i]
		left, restock := g.unshipped(i), "cancel"
		if shipped {
			left, restock = l.shipped-l.returned, "return"
		}
		if left <= 0 || !all && len(out) > 0 {
			continue
		}
		q := left
		if !all {
			q = 1
		}
		if shipped {
			l.returned += q
		} else {
			l.cancelled += q
		}
		out = append(out, ShopifyRefundLine{LineItemID: li.ID, Quantity: q, RestockType: restock})
		value += int64(q) * (li.Price.Amount + li.Price.Amount/10)
	}
	g.lineValue += value
	// Money refunded earlier may already cover the units.
	return out, min(value, g.s.CurrentTotalPrice.Amount)
}

func (g *lifeGen) addRefund(lines []ShopifyRefundLine, amount int64) {
	r := ShopifyRefund{ID: g.id(), CreatedAt: g.at.Add(g.gap), Note: []string{"damaged", "", "late"}[g.r.IntN(3)],
		Transactions: []ShopifyTransaction{{Amount: g.money(amount), Kind: "refund", Status: "success"}}, RefundLineItems: lines}
	g.s.Refunds = append(g.s.Refunds, r)
	g.life.refunds = append(g.life.refunds, r)
}

// refund returns everything left, or one unit of a line, or some money.
func (g *lifeGen) refund(all bool) bool {
	if !slices.Contains([]string{"paid", "partially_refunded"}, g.s.FinancialStatus) || g.s.CurrentTotalPrice.Amount == 0 {
		return false
	}
	switch {
	case all:
		for _, shipped := range []bool{false, true} {
			if lines, value := g.refundLines(true, shipped); len(lines) > 0 {
				g.addRefund(lines, value)
				g.retotal()
			}
		}
		if left := g.s.CurrentTotalPrice.Amount; left > 0 { // shipping, and what the lines do not cover
			g.addRefund(nil, left)
		}
	case g.r.IntN(2) == 0:
		lines, value := g.refundLines(false, g.r.IntN(2) == 0)
		if len(lines) == 0 {
			return false
		}
		g.addRefund(lines, value)
	default:
		g.addRefund(nil, 1+g.r.Int64N(g.s.CurrentTotalPrice.Amount))
	}
	g.retotal()
	g.s.FinancialStatus = "partially_refunded"
	if g.s.CurrentTotalPrice.Amount == 0 {
		g.s.FinancialStatus = "refunded"
	}
	return true
}

// edit adds, removes or changes a line before anything shipped or was
// refunded. An edit raising the total of a paid order leaves an amount
// outstanding: the order is partially paid until paid again.
func (g *lifeGen) edit() bool {
	if len(g.s.Fulfillments) > 0 || !g.s.CancelledAt.IsZero() || len(g.s.Refunds) > 0 || g.s.FulfillmentStatus != "" {
		return false
	}
	wasPaid := g.s.FinancialStatus == "paid" || g.s.FinancialStatus == "partially_paid"
	switch g.r.IntN(3) {
	case 0:
		g.addLine()
	case 1: // remove a line: Shopify keeps it with current_quantity 0
		if wasPaid || len(g.s.LineItems) < 2 {
			return false
		}
		i := g.r.IntN(len(g.s.LineItems))
		g.lines[i].removed += g.current(i)
	default: // one more unit of a line
		i := g.r.IntN(len(g.s.LineItems))
		g.s.LineItems[i].Quantity++
	}
	g.retotal()
	if wasPaid {
		out := g.money(g.s.CurrentTotalPrice.Amount - g.received)
		g.s.FinancialStatus, g.s.TotalOutstanding = "partially_paid", &out
	}
	return true
}

func (g *lifeGen) pay() bool {
	if !slices.Contains([]string{"pending", "authorized", "partially_paid"}, g.s.FinancialStatus) || !g.s.CancelledAt.IsZero() {
		return false
	}
	g.received = g.s.CurrentTotalPrice.Amount
	zero := g.money(0)
	g.s.FinancialStatus, g.s.TotalOutstanding = "paid", &zero
	return true
}

// cancel cancels an order that shipped nothing: an unpaid one's payment is
// voided, a paid one is refunded, with refunds listed or only stated.
func (g *lifeGen) cancel() bool {
	if !g.s.CancelledAt.IsZero() || g.s.FulfillmentStatus != "" || g.s.FinancialStatus == "partially_paid" {
		return false
	}
	g.s.CancelledAt = g.at.Add(g.gap)
	g.s.CancelReason = []string{"customer", "fraud", "inventory", "declined", "other", ""}[g.r.IntN(6)]
	switch {
	case g.s.FinancialStatus == "pending" || g.s.FinancialStatus == "authorized":
		g.s.FinancialStatus = "voided"
	case g.s.FinancialStatus == "expired":
	case g.s.CurrentTotalPrice.Amount > 0:
		g.refund(true)
	}
	return true
}

// newLife makes a life of up to steps changes, each followed by a snapshot.
func newLife(r *rand.Rand, steps int) orderLife {
	cur := []struct {
		code string
		zone *time.Location
	}{{"USD", time.FixedZone("EST", -5*3600)}, {"EUR", time.FixedZone("CET", 3600)}, {"JPY", time.FixedZone("JST", 9*3600)}}[r.IntN(3)]
	g := &lifeGen{r: r, at: time.Date(2026, 3, 1, 10, 0, 0, 0, cur.zone), gap: time.Second}
	g.s = ShopifyOrder{ID: 1<<53 + g.r.Int64N(1<<40), Name: "#1001", Email: "jane@example.com", Currency: cur.code,
		CreatedAt: g.at, FinancialStatus: "pending",
		Customer: ShopifyCustomer{ID: 7000000000000000001, FirstName: "Jane", LastName: "Doe", Email: "jane@example.com"}}
	for range 1 + g.r.IntN(3) {
		g.addLine()
	}
	g.s.CurrentShipping, g.s.CurrentTotalDiscounts = g.money(500), g.money(0)
	g.retotal()
	switch g.r.IntN(4) {
	case 0:
		g.s.FinancialStatus = "authorized"
	case 1:
		g.pay()
	case 2: // a deposit: partially paid from the start
		g.received = g.s.CurrentTotalPrice.Amount / 2
		out := g.money(g.s.CurrentTotalPrice.Amount - g.received)
		g.s.FinancialStatus, g.s.TotalOutstanding = "partially_paid", &out
	}
	g.s.SubtotalPrice, g.s.TotalPrice, g.s.TotalTax, g.s.TotalShipping = g.s.CurrentSubtotalPrice, g.s.CurrentTotalPrice, g.s.CurrentTotalTax, g.s.CurrentShipping
	g.s.TotalDiscounts = g.money(0)
	g.snapshot(false, false)
	for range steps {
		changed := true
		// A payment, a shipment, a refund or a cancellation can come in the
		// same second as the change before it: those only accrue, which is
		// what tells the later of two such snapshots.
		step := g.r.IntN(12)
		tied := slices.Contains([]int{0, 1, 2, 3, 5, 7}, step) && g.r.IntN(3) == 0
		g.gap = time.Second
		if tied {
			g.gap = 0
		}
		switch step {
		case 0, 1:
			changed = g.pay()
		case 2, 3:
			changed = g.fulfil()
		case 4:
			if changed = g.track(); g.r.IntN(3) == 0 {
				changed = g.cancelShipment() || changed
			}
		case 5:
			changed = g.refund(g.r.IntN(2) == 0)
		case 6:
			changed = g.edit()
		case 7:
			changed = g.cancel()
		case 8:
			if changed = g.s.FinancialStatus == "pending" || g.s.FinancialStatus == "authorized"; changed {
				g.s.FinancialStatus = map[string]string{"pending": "authorized", "authorized": "expired"}[g.s.FinancialStatus]
			}
		case 9:
			g.s.Tags = append(g.s.Tags, fmt.Sprintf("tag%d", g.r.IntN(9)))
		case 10:
			g.s.Note = fmt.Sprintf("note %d", g.r.IntN(100))
			g.s.Email = fmt.Sprintf("jane%d@example.com", g.r.IntN(100))
		default:
			g.s.Test = !g.s.Test
			g.s.Customer.LastName = fmt.Sprintf("Doe-%d", g.r.IntN(100))
		}
		if changed {
			g.snapshot(!tied && g.r.IntN(4) == 0, tied)
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

// String names a delivery for a failure message.
func (d delivery) String() string {
	switch {
	case d.snapshot != nil:
		return fmt.Sprintf("orders/updated@%s(%s/%s, %d fulfillments, %d refunds)", d.snapshot.UpdatedAt.Format("15:04:05"),
			d.snapshot.FinancialStatus, d.snapshot.FulfillmentStatus, len(d.snapshot.Fulfillments), len(d.snapshot.Refunds))
	case d.refund != nil:
		return fmt.Sprintf("refunds/create %d@%s", d.refund.ID, d.refund.CreatedAt.Format("15:04:05"))
	default:
		return fmt.Sprintf("fulfillments/update %d@%s", d.fulfillment.ID, d.fulfillment.UpdatedAt.Format("15:04:05"))
	}
}

// Random order lives, delivered in random order with duplicates and lost
// intermediates, end as their newest snapshot: equal to that snapshot
// applied alone, and showing every field as Shopify states it.
func TestShopifyOrderConvergesToNewestSnapshot(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 25))
	for run := range 5000 {
		life := newLife(r, r.IntN(14))
		last := len(life.snapshots) - 1
		newest := life.snapshots[last]
		want := &Order{}
		deliver(t, want, delivery{snapshot: &newest})
		got := &Order{}
		ds := deliveries(r, life)
		for _, d := range ds {
			deliver(t, got, d)
		}
		problems := showsSnapshot(got.Snapshot(), newest, life.truths[last])
		if g, w := shown(got.Snapshot()), shown(want.Snapshot()); !reflect.DeepEqual(g, w) {
			problems = append(problems, fmt.Sprintf("differs from the newest snapshot applied alone:\n%+v\nwant\n%+v", g, w))
		}
		if len(problems) > 0 {
			t.Fatalf("run %d (seed %d), %d snapshots, deliveries %v:\n%s", run, seed, len(life.snapshots), ds, strings.Join(problems, "\n"))
		}
	}
}

// showsSnapshot compares an order with a snapshot field by field, as
// Shopify states them, and with what the order really was, independently
// of how the order got there.
func showsSnapshot(o OrderState, s ShopifyOrder, truth lifeTruth) []string {
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
	if !s.CancelledAt.IsZero() {
		check("cancel_reason", o.CancelReason, s.cancelReason())
	}
	check("currency", o.Currency, s.Currency)
	check("total", o.Total, s.CurrentTotalPrice.Amount)
	check("subtotal", o.Subtotal, s.CurrentSubtotalPrice.Amount)
	check("tax", o.Totals.Tax, s.CurrentTotalTax.Amount)
	check("shipping", o.Totals.Shipping, s.CurrentShipping.Amount)
	check("discounts", o.Totals.Discounts, s.CurrentTotalDiscounts.Amount)
	check("original_total", o.Totals.OriginalTotal, s.TotalPrice.Amount)
	check("original_subtotal", o.Totals.OriginalSubtotal, s.SubtotalPrice.Amount)
	check("original_tax", o.Totals.OriginalTax, s.TotalTax.Amount)
	check("tags", strings.Join(o.Tags, ","), strings.Join(s.Tags, ","))
	check("note", o.Note, s.Note)
	check("email", o.Email, s.Email)
	check("customer_name", o.CustomerName, s.Customer.FirstName+" "+s.Customer.LastName)
	check("test", o.Test, s.Test)
	check("shopify_updated_at", o.ShopifyUpdatedAt, s.UpdatedAt.UTC())
	check("lines", len(o.Lines), len(s.LineItems))
	for i, li := range s.LineItems {
		if i >= len(o.Lines) {
			break
		}
		check(fmt.Sprintf("lines[%d].quantity", i), o.Lines[i].Quantity, li.CurrentQuantity)
		check(fmt.Sprintf("lines[%d].original_quantity", i), o.Lines[i].OriginalQuantity, li.Quantity)
		if shipped, ok := truth.shipped[o.Lines[i].ID]; ok {
			check(fmt.Sprintf("lines[%d].fulfilled_quantity", i), o.Lines[i].FulfilledQuantity, shipped)
		}
	}
	if truth.refunded >= 0 {
		check("refunded", o.Refunded, truth.refunded)
	}
	if truth.paid >= 0 {
		check("paid", o.Paid, truth.paid)
	}
	if len(s.Fulfillments) > 0 || s.FulfillmentStatus == "" {
		shipped := slices.DeleteFunc(slices.Clone(s.Fulfillments), func(f ShopifyFulfillment) bool { return f.Status != ShipmentSuccess })
		check("fulfillments", len(o.Fulfillments), len(shipped))
	}
	return problems
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

// applyRefund applies a refunds/create body to o and returns its events.
func applyRefund(t *testing.T, o *Order, r ShopifyRefund) []Event {
	t.Helper()
	evs, err := o.ApplyShopifyRefund(r)
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
// quantities, subtotal and total at once, as Shopify's current_* fields do,
// and the snapshot that then lists it changes them no further.
func TestShopifyRefundLowersCurrentFiguresUntilItsSnapshot(t *testing.T) {
	o := &Order{}
	first := unpaidOrder(t)
	applySnapshot(t, o, first)
	line := first.LineItems[0]
	before := o.Snapshot()
	r := ShopifyRefund{ID: 82, CreatedAt: first.UpdatedAt.Add(time.Minute),
		Transactions:    []ShopifyTransaction{{Amount: Money{line.Price.Amount, first.Currency}, Kind: "refund", Status: "success"}},
		RefundLineItems: []ShopifyRefundLine{{LineItemID: line.ID, Quantity: 1}}}
	applyRefund(t, o, r)
	after := o.Snapshot()
	if after.Total != before.Total-line.Price.Amount || after.Lines[0].Quantity != before.Lines[0].Quantity-1 {
		t.Fatalf("after the refund: total %d, quantity %d; want %d, %d", after.Total, after.Lines[0].Quantity,
			before.Total-line.Price.Amount, before.Lines[0].Quantity-1)
	}
	// current_subtotal_price leaves out the line items taken back; this body
	// does not state their subtotal, so it is their price.
	if after.Subtotal != before.Subtotal-line.Price.Amount {
		t.Fatalf("after the refund: subtotal %d, want %d", after.Subtotal, before.Subtotal-line.Price.Amount)
	}
}

// The current subtotal and tax lose what a refund's lines state they were
// worth (after their discounts) and taxed, not their list price and not the
// money the refund returns: a return refunded as store credit still leaves
// the subtotal, and the total keeps what was not paid back.
func TestShopifyRefundLowersTheSubtotalByItsLinesWorth(t *testing.T) {
	o := &Order{}
	first := unpaidOrder(t)
	first.TotalTax, first.CurrentTotalTax = Money{900, first.Currency}, Money{900, first.Currency}
	placed := applySnapshot(t, o, first)
	line := first.LineItems[0]
	before := o.Snapshot()
	worth := Money{line.Price.Amount - 100, first.Currency} // a discount of 1.00 on the unit
	tax := Money{150, first.Currency}
	r := ShopifyRefund{ID: 85, CreatedAt: first.UpdatedAt.Add(time.Minute), RefundLineItems: []ShopifyRefundLine{
		{LineItemID: line.ID, Quantity: 1, RestockType: "return", Subtotal: &worth, TotalTax: &tax}}}
	evs := applyRefund(t, o, r)
	after := o.Snapshot()
	if after.Subtotal != before.Subtotal-worth.Amount || after.Totals.Tax != 750 || after.Totals.OriginalTax != 900 ||
		after.Total != before.Total || after.Refunded != 0 {
		t.Fatalf("after the refund: subtotal %d, tax %+v, total %d, refunded %d; want %d, tax 750 of 900, %d, 0", after.Subtotal,
			after.Totals, after.Total, after.Refunded, before.Subtotal-worth.Amount, before.Total)
	}
	// Replayed from its events, the order shows the same figures.
	again, err := NewOrderFromHistory(append(placed, evs...))
	if err != nil {
		t.Fatal(err)
	}
	if s := again.Snapshot(); s.Subtotal != after.Subtotal || s.Totals != after.Totals {
		t.Fatalf("replayed subtotal %d and totals %+v, want %d and %+v", s.Subtotal, s.Totals, after.Subtotal, after.Totals)
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
	applyRefund(t, o, r)
	lowered := o.Snapshot()
	if lowered.Subtotal != first.CurrentSubtotalPrice.Amount-line.Price.Amount {
		t.Fatalf("after the refund: subtotal %d, want %d", lowered.Subtotal, first.CurrentSubtotalPrice.Amount-line.Price.Amount)
	}
	between := first
	between.UpdatedAt = first.UpdatedAt.Add(30 * time.Second)
	between.Tags = []string{"vip"}
	applySnapshot(t, o, between)
	got := o.Snapshot()
	if got.Total != lowered.Total || got.Subtotal != lowered.Subtotal || got.Lines[0].Quantity != lowered.Lines[0].Quantity ||
		got.Refunded != lowered.Refunded {
		t.Fatalf("after an older snapshot: total %d, subtotal %d, quantity %d, refunded %d; want %d, %d, %d, %d", got.Total, got.Subtotal,
			got.Lines[0].Quantity, got.Refunded, lowered.Total, lowered.Subtotal, lowered.Lines[0].Quantity, lowered.Refunded)
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
	applyRefund(t, o, r)
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

// A line Shopify states fulfilled, without the fulfillments behind it, keeps
// the units it shipped after a refund took them back: they shipped, and
// only what is left (its current quantity) plus what was returned says how
// many. Units cancelled before shipping never count.
func TestStatusOnlyFulfilledLinesKeepShippedUnitsAfterRefund(t *testing.T) {
	s := unpaidOrder(t) // lines of 2 and 3 units
	s.UpdatedAt, s.FulfillmentStatus = s.UpdatedAt.Add(time.Hour), "fulfilled"
	o := &Order{}
	applySnapshot(t, o, s)
	s.UpdatedAt, s.FinancialStatus = s.UpdatedAt.Add(time.Hour), "partially_refunded"
	s.LineItems = slices.Clone(s.LineItems)
	s.LineItems[0].CurrentQuantity, s.LineItems[1].CurrentQuantity = 0, 2
	s.Refunds = []ShopifyRefund{{ID: 83, CreatedAt: s.UpdatedAt, RefundLineItems: []ShopifyRefundLine{
		{LineItemID: s.LineItems[0].ID, Quantity: 2, RestockType: "return"},
		{LineItemID: s.LineItems[1].ID, Quantity: 1, RestockType: "cancel"},
	}, Transactions: []ShopifyTransaction{{Amount: Money{3000, "USD"}, Kind: "refund", Status: "success"}}}}
	s.CurrentTotalPrice = Money{s.PaidInFull.Amount - 3000, "USD"}
	applySnapshot(t, o, s)
	st := o.Snapshot()
	if st.Lines[0].FulfilledQuantity != 2 || st.Lines[1].FulfilledQuantity != 2 || st.FulfillmentStatus != FulfillmentFulfilled {
		t.Fatalf("fulfilled quantities %d and %d, status %s; want 2, 2, fulfilled",
			st.Lines[0].FulfilledQuantity, st.Lines[1].FulfilledQuantity, st.FulfillmentStatus)
	}
}

// rebuilt is the order of events as the store gives it back: decoded, so
// empty lists and missing ones look alike as they do there.
func rebuilt(t *testing.T, events []Event) *Order {
	t.Helper()
	o, err := NewOrderFromHistory(roundTrip(t, events))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Shopify's updated_at has whole seconds, so a refund in the same second as
// the change before it leaves two snapshots with one updated_at. The one
// that knows of the refund wins whichever comes first; the other, and
// either again, change nothing.
func TestSameSecondSnapshotsTheLaterOneWins(t *testing.T) {
	paid := unpaidOrder(t)
	refunded := paid
	refunded.FinancialStatus = "partially_refunded"
	refunded.Refunds = []ShopifyRefund{{ID: 91, CreatedAt: paid.UpdatedAt,
		Transactions: []ShopifyTransaction{{Amount: Money{500, paid.Currency}, Kind: "refund", Status: "success"}}}}
	refunded.CurrentTotalPrice.Amount -= 500

	for _, order := range [][]ShopifyOrder{{paid, refunded}, {refunded, paid}} {
		o := &Order{}
		var all []Event
		for _, s := range order {
			all = append(all, applySnapshot(t, o, s)...)
		}
		if got := o.Snapshot(); got.Refunded != 500 || got.FinancialStatus != FinancialPartiallyRefunded {
			t.Fatalf("%s then %s: refunded %d, %s; want 500, partially_refunded", order[0].FinancialStatus, order[1].FinancialStatus,
				got.Refunded, got.FinancialStatus)
		}
		for _, s := range []ShopifyOrder{paid, refunded} {
			if evs := applySnapshot(t, o, s); len(evs) > 0 {
				t.Fatalf("%s again raised %v", s.FinancialStatus, evs)
			}
		}
		again := rebuilt(t, all)
		if evs, err := again.ApplyCurrentShopifySnapshot(refunded, demoShop); err != nil || len(evs) > 0 {
			t.Fatalf("the refunded snapshot read again from Shopify raised %v, %v", evs, err)
		}
	}
}

// A webhook's snapshot in the same second that changes only what does not
// accrue (tags here) cannot be told from an older one and changes nothing;
// the same snapshot read from Shopify just now is its current state and
// wins, once: read again after the order was stored, where a shipment's
// empty list of tracking numbers comes back as none, it changes nothing.
func TestSameSecondSnapshotReadFromShopifyWins(t *testing.T) {
	first := unpaidOrder(t)
	first.FulfillmentStatus = "partial"
	first.Fulfillments = []ShopifyFulfillment{{ID: 62, OrderID: first.ID, Status: ShipmentSuccess, CreatedAt: first.UpdatedAt,
		UpdatedAt: first.UpdatedAt, TrackingNumbers: []string{}, LineItems: []ShopifyFulfillmentLine{{ID: first.LineItems[0].ID, Quantity: 1}}}}
	tagged := first
	tagged.Tags = []string{"vip"}
	o := &Order{}
	placed := applySnapshot(t, o, first)
	if evs := applySnapshot(t, o, tagged); len(evs) > 0 {
		t.Fatalf("a webhook's same-second snapshot raised %v", evs)
	}
	evs, err := o.ApplyCurrentShopifySnapshot(tagged, demoShop)
	if err != nil || len(evs) != 1 {
		t.Fatalf("the current snapshot raised %v, %v; want order.snapshot_applied", evs, err)
	}
	o = rebuilt(t, append(placed, evs...))
	if got := o.Snapshot().Tags; !slices.Equal(got, []string{"vip"}) {
		t.Fatalf("tags %v, want [vip]", got)
	}
	if evs, err := o.ApplyCurrentShopifySnapshot(tagged, demoShop); err != nil || len(evs) > 0 {
		t.Fatalf("read again: %v, %v; want nothing", evs, err)
	}
}

// A same-second snapshot that knows of a new refund but lacks a shipment
// the order has is not plainly the later one, and changes nothing.
func TestSameSecondSnapshotThatAlsoKnowsLessChangesNothing(t *testing.T) {
	first := unpaidOrder(t)
	line := first.LineItems[0]
	shipped := first
	shipped.FulfillmentStatus = "partial"
	shipped.Fulfillments = []ShopifyFulfillment{{ID: 61, OrderID: first.ID, Status: ShipmentSuccess, CreatedAt: first.UpdatedAt,
		UpdatedAt: first.UpdatedAt, LineItems: []ShopifyFulfillmentLine{{ID: line.ID, Quantity: 1}}}}
	o := &Order{}
	applySnapshot(t, o, shipped)
	odd := first
	odd.Fulfillments = []ShopifyFulfillment{}
	odd.FinancialStatus = "partially_refunded"
	odd.Refunds = []ShopifyRefund{{ID: 92, CreatedAt: first.UpdatedAt,
		Transactions: []ShopifyTransaction{{Amount: Money{500, first.Currency}, Kind: "refund", Status: "success"}}}}
	if evs := applySnapshot(t, o, odd); len(evs) > 0 {
		t.Fatalf("raised %v", evs)
	}
}
