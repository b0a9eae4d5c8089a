package main

import (
	"fmt"
	"slices"
	"time"
)

// The lifecycle scenario gives orders the lives real shops see beyond the
// happy path: edits that add, remove or change lines; snapshots that state a
// status without the array behind it; cancellation after payment; refunds
// arriving before and after the snapshot that carries them; partial
// fulfilments with their own topics and tracking updates; test orders,
// orders that arrive cancelled and deleted orders. Every body follows
// Shopify's REST webhook payloads.

// Steps of lifecycle orders, after the ones of orders.go.
const (
	stepEditAdd        step = iota + 100 // orders/edited: a line added
	stepEditQuantity                     // orders/edited: a line's quantity changed
	stepEditRemove                       // orders/edited: a line removed
	stepFulfilStated                     // fulfillment_status "fulfilled", fulfillments[] left out
	stepCancelRefunded                   // cancelled after payment: "refunded", refunds[] left out
	stepTracking                         // fulfillments/update: a new tracking number
	stepRefundAfter                      // refunds/create after the snapshot that carries it
	stepDelete                           // orders/delete
)

// Cases a lifecycle order can exercise, as simexpect.Order.Cases names them.
const (
	caseEdit               = "edit"
	caseStatusFulfilled    = "status_only_fulfilled"
	caseStatusRefunded     = "status_only_refunded"
	caseCancelAfterPayment = "cancel_after_payment"
	casePartialFulfilment  = "partial_fulfilment"
	caseRefundBefore       = "refund_before_snapshot"
	caseRefundAfter        = "refund_after_snapshot"
	caseTracking           = "tracking_update"
	caseTest               = "test_order"
	caseArrivedCancelled   = "arrived_cancelled"
	caseDeleted            = "deleted"
)

// setTotals writes the order's money fields from its lines, as Shopify
// does: subtotal_price, total_tax and total_price (their sum) follow edits;
// current_subtotal_price and current_total_tax also leave out the line
// items refunds took back, current_total_price the money refunded. The
// scenarios charge no shipping and give no discounts, and say so with
// zeros, as Shopify's bodies do.
func (o *order) setTotals() {
	subtotal, tax := o.lineTotals()
	o.total = subtotal + tax
	o.SubtotalPrice, o.TotalTax = formatMoney(subtotal, o.cur.exp), formatMoney(tax, o.cur.exp)
	o.TotalPrice = formatMoney(o.total, o.cur.exp)
	o.CurrentSubtotal = formatMoney(subtotal-o.returned, o.cur.exp)
	o.CurrentTax = formatMoney(tax-o.returnedTax, o.cur.exp)
	o.CurrentTotalPrice = formatMoney(o.total-o.refunded, o.cur.exp)
	zero := formatMoney(0, o.cur.exp)
	o.TotalDiscounts, o.CurrentDiscounts = zero, zero
	o.TotalShipping, o.CurrentShipping = o.moneySet(0), o.moneySet(0)
}

// lineTotals is the worth and the tax of the units the lines hold after
// edits, refunded ones included; it also states each line's tax.
func (o *order) lineTotals() (subtotal, tax int64) {
	for i := range o.LineItems {
		li := &o.LineItems[i]
		units := int64(li.Quantity - li.removed)
		subtotal += li.price * units
		tax += li.tax * units
		li.TaxLines = []taxLine{}
		if o.cur.taxRate > 0 {
			li.TaxLines = append(li.TaxLines, taxLine{Title: "Sales Tax", Price: formatMoney(li.tax*units, o.cur.exp),
				Rate: float64(o.cur.taxRate) / 1e6})
		}
	}
	return subtotal, tax
}

func (o *order) addCase(c string) {
	if !slices.Contains(o.cases, c) {
		o.cases = append(o.cases, c)
	}
}

// lifecycleScenario sends the catalog, then plays n lifecycle orders
// interleaved by time, with a stock level change now and then.
func lifecycleScenario(g *generator, n int) []action {
	actions := g.catalogUpdates(scenarioBase.Add(-time.Hour))
	for i := range n {
		if i%5 == 4 {
			actions = append(actions, g.inventoryUpdate(scenarioBase.Add(minutes(3*i))))
		}
		l := g.newLifecycleOrder()
		at := scenarioBase.Add(minutes(3*i) + time.Duration(g.rng.IntN(120))*time.Second)
		for !l.done() {
			actions = append(actions, g.advance(l, at))
			at = at.Add(minutes(10 + g.rng.IntN(600)))
		}
	}
	slices.SortStableFunc(actions, func(a, b action) int { return a.at.Compare(b.at) })
	return actions
}

// newLifecycleOrder drafts an order whose life mixes the lifecycle steps
// into the ordinary ones.
func (g *generator) newLifecycleOrder() *orderLife {
	l := g.newOrder()
	r, o := g.rng, l.o
	o.lifecycle = true
	units := 0
	for _, li := range o.LineItems {
		units += li.Quantity
	}
	if r.IntN(100) < 5 {
		o.Test = true
		o.addCase(caseTest)
	}
	if r.IntN(100) < 4 { // the first snapshot is already cancelled
		ts := "" // the creation time, set when it is played
		o.CancelledAt, o.CancelReason, o.FinancialStatus = &ts, nullable("fraud"), "voided"
		o.addCase(caseArrivedCancelled)
		return &orderLife{o: o, steps: []step{stepCreate}}
	}
	steps := []step{stepCreate}
	pending := o.FinancialStatus == "pending"
	if r.IntN(100) < 30 { // edits come before payment and shipping
		steps = append(steps, []step{stepEditAdd, stepEditQuantity, stepEditRemove}[r.IntN(3)])
		if r.IntN(100) < 30 {
			steps = append(steps, stepEditAdd)
		}
	}
	if pending {
		steps = append(steps, stepPay)
	}
	switch x := r.IntN(100); {
	case x < 15:
		steps = append(steps, stepCancelRefunded)
		return &orderLife{o: o, steps: append(steps, g.maybeDelete()...)}
	case x < 25:
		steps = append(steps, stepCancel)
		return &orderLife{o: o, steps: append(steps, g.maybeDelete()...)}
	}
	switch f := r.IntN(100); {
	case f < 20:
		steps = append(steps, stepFulfilStated)
	case f < 45 && units > 1:
		steps = append(steps, stepFulfilPartial, stepFulfilRest)
	case f < 85:
		steps = append(steps, stepFulfilRest)
	}
	if f := steps[len(steps)-1]; (f == stepFulfilRest || f == stepFulfilPartial) && r.IntN(100) < 30 {
		steps = append(steps, stepTracking)
	}
	switch x := r.IntN(100); {
	case x < 10:
		steps = append(steps, stepRefundPartial)
	case x < 20:
		steps = append(steps, stepRefundAfter)
	}
	return &orderLife{o: o, steps: append(steps, g.maybeDelete()...)}
}

func (g *generator) maybeDelete() []step {
	if g.rng.IntN(100) < 3 {
		return []step{stepDelete}
	}
	return nil
}

// orderEdit is the body of orders/edited.
type orderEdit struct {
	OrderEdit struct {
		ID             int64  `json:"id"`
		AppID          *int64 `json:"app_id"`
		CreatedAt      string `json:"created_at"`
		CommittedAt    string `json:"committed_at"`
		NotifyCustomer bool   `json:"notify_customer"`
		OrderID        int64  `json:"order_id"`
		StaffNote      string `json:"staff_note"`
		UserID         *int64 `json:"user_id"`
		LineItems      struct {
			Additions []lineDelta `json:"additions"`
			Removals  []lineDelta `json:"removals"`
		} `json:"line_items"`
		Discounts struct {
			LineItem struct {
				Additions []any `json:"additions"`
				Removals  []any `json:"removals"`
			} `json:"line_item"`
		} `json:"discounts"`
		ShippingLines struct {
			Additions []any `json:"additions"`
			Removals  []any `json:"removals"`
		} `json:"shipping_lines"`
	} `json:"order_edit"`
}

type lineDelta struct {
	ID    int64 `json:"id"`
	Delta int   `json:"delta"`
}

// orderDeleted is the body of orders/delete.
type orderDeleted struct {
	ID int64 `json:"id"`
}

// fulfillmentEvent is the body of fulfillments/create and fulfillments/update.
type fulfillmentEvent struct {
	fulfillment
	TrackingNumbers []string `json:"tracking_numbers"`
	TrackingURLs    []string `json:"tracking_urls"`
	UpdatedAt       string   `json:"updated_at"`
}

// advanceLifecycle plays a lifecycle step on o and returns the topics
// Shopify sends for it; bodies gets those that are not the order snapshot.
func (g *generator) advanceLifecycle(o *order, s step, at time.Time, bodies map[string][]byte) []string {
	ts := at.In(o.cur.loc).Format(time.RFC3339)
	switch s {
	case stepEditAdd, stepEditQuantity, stepEditRemove:
		o.addCase(caseEdit)
		bodies["orders/edited"] = mustJSON(g.edit(o, s, ts))
		return []string{"orders/edited", "orders/updated"}
	case stepFulfilStated:
		// Shopify states the order fulfilled; this snapshot carries no
		// fulfillments, its lines nothing left to fulfil.
		for i := range o.LineItems {
			li := &o.LineItems[i]
			li.fulfilled = li.Quantity - li.removed
			li.FulfillableQuantity = 0
			li.FulfillmentStatus = nullable("fulfilled")
		}
		o.FulfillmentStatus = nullable("fulfilled")
		o.addCase(caseStatusFulfilled)
		return []string{"orders/fulfilled", "orders/updated"}
	case stepCancelRefunded:
		o.CancelledAt, o.CancelReason = &ts, nullable("customer")
		o.addCase(caseCancelAfterPayment)
		if o.FinancialStatus == "pending" {
			o.FinancialStatus = "voided"
			return []string{"orders/cancelled", "orders/updated"}
		}
		// The refund is stated, not listed.
		o.refunded, o.FinancialStatus = o.total, "refunded"
		o.returned, o.returnedTax = o.lineTotals()
		o.addCase(caseStatusRefunded)
		return []string{"orders/cancelled", "orders/updated"}
	case stepTracking:
		if len(o.Fulfillments) == 0 { // edits left nothing to ship
			return []string{"orders/updated"}
		}
		f := &o.Fulfillments[len(o.Fulfillments)-1]
		f.TrackingCompany, f.TrackingNumber = "DHL Express", fmt.Sprintf("JD%018d", g.id()%1_000_000_000_000_000_000)
		o.addCase(caseTracking)
		bodies["fulfillments/update"] = mustJSON(fulfillmentBody(*f, ts))
		return []string{"fulfillments/update", "orders/updated"}
	case stepRefundAfter:
		rf := g.refund(o, at, false, "return")
		o.addCase(caseRefundAfter)
		bodies["refunds/create"] = mustJSON(rf)
		return []string{"orders/updated", "refunds/create"}
	case stepDelete:
		o.deleted = true
		o.addCase(caseDeleted)
		bodies["orders/delete"] = mustJSON(orderDeleted{ID: o.ID})
		return []string{"orders/delete"}
	}
	panic(fmt.Sprintf("simulator: no lifecycle step %d", s))
}

func fulfillmentBody(f fulfillment, updatedAt string) fulfillmentEvent {
	return fulfillmentEvent{fulfillment: f, TrackingNumbers: []string{f.TrackingNumber},
		TrackingURLs: []string{"https://tracking.example.test/" + f.TrackingNumber}, UpdatedAt: updatedAt}
}

// edit changes o's lines as Shopify's order editing does: an added line is a
// new line item, a removed or reduced one keeps its quantity and loses
// current quantity.
func (g *generator) edit(o *order, s step, ts string) orderEdit {
	var e orderEdit
	e.OrderEdit.ID, e.OrderEdit.CreatedAt, e.OrderEdit.CommittedAt, e.OrderEdit.OrderID = g.id(), ts, ts, o.ID
	e.OrderEdit.LineItems.Additions, e.OrderEdit.LineItems.Removals = []lineDelta{}, []lineDelta{}
	e.OrderEdit.Discounts.LineItem.Additions, e.OrderEdit.Discounts.LineItem.Removals = []any{}, []any{}
	e.OrderEdit.ShippingLines.Additions, e.OrderEdit.ShippingLines.Removals = []any{}, []any{}
	open := slices.IndexFunc(o.LineItems, func(li lineItem) bool { return li.CurrentQuantity > 0 })
	switch {
	case s == stepEditAdd || open < 0 || (s == stepEditRemove && countOpen(o) < 2):
		p := catalog[g.rng.IntN(len(catalog))]
		q := 1 + g.rng.IntN(2)
		lid := g.id()
		o.LineItems = append(o.LineItems, p.lineItem(lid, q, o.cur))
		e.OrderEdit.LineItems.Additions = append(e.OrderEdit.LineItems.Additions, lineDelta{ID: lid, Delta: q})
	case s == stepEditQuantity:
		li := &o.LineItems[open]
		delta := 1
		if li.CurrentQuantity > 1 && g.rng.IntN(2) == 0 {
			delta = -1
		}
		if delta > 0 { // more units of a line: Shopify adds them to the line
			li.Quantity++
			e.OrderEdit.LineItems.Additions = append(e.OrderEdit.LineItems.Additions, lineDelta{ID: li.ID, Delta: 1})
		} else {
			li.removed++
			e.OrderEdit.LineItems.Removals = append(e.OrderEdit.LineItems.Removals, lineDelta{ID: li.ID, Delta: 1})
		}
		li.CurrentQuantity = li.Quantity - li.removed - li.refunded
		li.FulfillableQuantity = li.Quantity - li.removed - li.fulfilled
	default: // remove a whole line
		li := &o.LineItems[open]
		n := li.CurrentQuantity
		li.removed += n
		li.CurrentQuantity, li.FulfillableQuantity = 0, 0
		e.OrderEdit.LineItems.Removals = append(e.OrderEdit.LineItems.Removals, lineDelta{ID: li.ID, Delta: n})
	}
	return e
}

func countOpen(o *order) int {
	n := 0
	for _, li := range o.LineItems {
		if li.CurrentQuantity > 0 {
			n++
		}
	}
	return n
}

// lifecycleTopics adds the topics Shopify also sends for ordinary steps of a
// lifecycle order: orders/partially_fulfilled and fulfillments/create with a
// partial shipment, fulfillments/create with the last one, and refunds/create
// before the snapshot that carries it.
func lifecycleTopics(o *order, s step, topics []string, bodies map[string][]byte) []string {
	ts := o.UpdatedAt
	switch s {
	case stepCreate:
		if o.CancelledAt != nil && *o.CancelledAt == "" { // arrives cancelled
			*o.CancelledAt = ts
			return []string{"orders/create", "orders/cancelled"}
		}
	case stepFulfilPartial, stepFulfilRest:
		if n := len(o.Fulfillments); n > 0 && o.Fulfillments[n-1].CreatedAt == ts { // this step shipped something
			bodies["fulfillments/create"] = mustJSON(fulfillmentBody(o.Fulfillments[n-1], ts))
			topics = append([]string{"fulfillments/create"}, topics...)
		}
		if s == stepFulfilPartial && *o.FulfillmentStatus == "partial" {
			o.addCase(casePartialFulfilment)
			topics = append([]string{"orders/partially_fulfilled"}, topics...)
		}
		return topics
	case stepRefundPartial, stepRefundRest:
		o.addCase(caseRefundBefore)
	case stepCancel:
		if slices.Contains(topics, "refunds/create") {
			o.addCase(caseCancelAfterPayment)
		}
	}
	return topics
}
