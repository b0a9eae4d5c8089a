package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The order mutations a merchant's actions in an app become. Each checks
// its input as Shopify does, answering userErrors and changing nothing when
// it refuses; otherwise it changes the order, which the Admin API then
// answers with, and sends the webhooks Shopify sends for that change.

// userError is a UserError (or a typed variant: OrderCancelUserError,
// InventoryAdjustQuantitiesUserError) in a mutation's payload.
func userError(code, message string, field ...string) obj {
	e := obj{"field": field, "message": message, "code": nil}
	if code != "" {
		e["code"] = code
	}
	if field == nil {
		e["field"] = nil
	}
	return e
}

// orderChange is what a mutation did to an order: the topics Shopify sends
// for it (a topic missing from bodies carries the order snapshot) and the
// payload to answer with.
type orderChange struct {
	topics  []string
	bodies  map[string][]byte
	payload func(o *order) obj
}

// changeOrder runs one order mutation under the mutation lock: change gets
// the live order and the time of the change, and either refuses with
// userErrors (nothing is kept) or returns the change, which is recorded and
// whose webhooks are sent.
func (a *adminAPI) changeOrder(c fieldCall, gid any, refused func(errs []any) obj, change func(o *order, at time.Time) (orderChange, []any)) (any, []gqlError) {
	id, errs := legacyID(gid, "Order")
	if errs != nil {
		return nil, errs
	}
	a.mutating.Lock()
	defer a.mutating.Unlock()
	st := a.orders.get(c.shop, id)
	if st == nil || st.expected.Deleted {
		return refused([]any{userError("NOT_FOUND", "Order does not exist", "id")}), nil
	}
	o, err := liveOrder(st.snapshot)
	if err != nil {
		return nil, []gqlError{{Message: "simulator: stored order: " + err.Error()}}
	}
	// Snapshots have second resolution, and the newest updated_at wins.
	at := a.now().UTC().Truncate(time.Second)
	if next := st.updated.Add(time.Second).Truncate(time.Second); at.Before(next) {
		at = next
	}
	ch, uerrs := change(o, at)
	if len(uerrs) > 0 {
		return refused(uerrs), nil
	}
	o.UpdatedAt = at.In(o.cur.loc).Format(time.RFC3339)
	o.setTotals()
	next := stateOf(o, at)
	a.orders.record(c.shop, o.ID, next)
	snapshot := mustJSON(o)
	msgs := make([]message, 0, len(ch.topics))
	for _, t := range ch.topics {
		if body, ok := ch.bodies[t]; ok {
			msgs = append(msgs, message{topic: t, body: body})
			continue
		}
		msgs = append(msgs, message{topic: t, body: snapshot, snapshot: true})
	}
	if a.emit != nil {
		a.emit(c.shop, action{at: at, orderID: o.ID, msgs: msgs, state: next})
	}
	return ch.payload(o), nil
}

// liveOrder rebuilds the order behind a snapshot the simulator sent, with
// the counts its lines keep to themselves.
func liveOrder(snapshot []byte) (*order, error) {
	var o order
	if err := json.Unmarshal(snapshot, &o); err != nil {
		return nil, err
	}
	o.cur = currency{code: o.Currency, exp: 2, loc: time.UTC}
	if i := slices.IndexFunc(currencies, func(c currency) bool { return c.code == o.Currency }); i >= 0 {
		o.cur = currencies[i]
	}
	exp := o.cur.exp
	o.total = parseMinor(o.TotalPrice, exp)
	o.refunded = o.total - parseMinor(o.CurrentTotalPrice, exp)
	o.returned = parseMinor(o.SubtotalPrice, exp) - parseMinor(o.CurrentSubtotal, exp)
	o.returnedTax = parseMinor(o.TotalTax, exp) - parseMinor(o.CurrentTax, exp)
	refundedUnits := map[int64]int{}
	for _, r := range o.Refunds {
		for _, t := range r.Transactions {
			if t.Kind == "refund" && t.Status == "success" {
				o.listedRefunds += parseMinor(t.Amount, exp)
			}
		}
		for _, l := range r.RefundLineItems {
			refundedUnits[l.LineItemID] += l.Quantity
		}
	}
	for i := range o.LineItems {
		li := &o.LineItems[i]
		li.price = parseMinor(li.Price, exp)
		li.tax = o.cur.unitTax(li.price)
		li.refunded = refundedUnits[li.ID]
		li.removed = li.Quantity - li.refunded - li.CurrentQuantity
		li.fulfilled = li.Quantity - li.removed - li.FulfillableQuantity
	}
	return &o, nil
}

// ids hands out Shopify ids for what mutations create, from the same kind
// of source as the scenarios', seeded by the clock.
func (a *adminAPI) ids() *generator {
	if a.gen == nil {
		a.gen = newGenerator(a.now().UnixNano(), "")
	}
	return a.gen
}

func (a *adminAPI) orderCancel(c fieldCall) (any, []gqlError) {
	refused := func(errs []any) obj {
		return obj{"job": nil, "jobResult": nil, "orderCancelUserErrors": errs, "userErrors": errs}
	}
	return a.changeOrder(c, c.args["orderId"], refused, func(o *order, at time.Time) (orderChange, []any) {
		reason, _ := c.args["reason"].(string)
		restock, _ := c.args["restock"].(bool)
		refund, _ := c.args["refund"].(bool)
		if m, ok := c.args["refundMethod"].(map[string]any); ok {
			refund, _ = m["originalPaymentMethodsRefund"].(bool)
		}
		switch {
		case o.CancelledAt != nil:
			return orderChange{}, []any{userError("INVALID", "Order has already been cancelled", "orderId")}
		case slices.ContainsFunc(o.LineItems, func(li lineItem) bool { return li.fulfilled > 0 }):
			return orderChange{}, []any{userError("INVALID", "Cannot cancel an order that has fulfilled items", "orderId")}
		case !slices.Contains([]string{"CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF"}, reason):
			return orderChange{}, []any{userError("INVALID", fmt.Sprintf("Reason %q is not a valid cancel reason", reason), "reason")}
		}
		ts := at.In(o.cur.loc).Format(time.RFC3339)
		o.CancelledAt, o.CancelReason = &ts, nullable(strings.ToLower(reason))
		if note, ok := c.args["staffNote"].(string); ok && note != "" {
			o.Note = &note
		}
		ch := orderChange{topics: []string{"orders/cancelled"}, bodies: map[string][]byte{}}
		for i := range o.LineItems { // nothing is left to ship
			o.LineItems[i].FulfillableQuantity = 0
		}
		switch {
		case o.FinancialStatus == "pending" || o.FinancialStatus == "authorized":
			o.FinancialStatus = "voided"
		case refund && o.total > o.refunded:
			restockType := "no_restock"
			if restock {
				restockType = "cancel"
			}
			var units []refundUnits
			for _, li := range o.LineItems {
				if q := li.CurrentQuantity; q > 0 {
					units = append(units, refundUnits{lineID: li.ID, quantity: q, restockType: restockType})
				}
			}
			rf := a.ids().refundLines(o, at, units, nil)
			a.ids().refundMoney(o, rf, o.total-o.refunded, "shopify_payments")
			ch.bodies["refunds/create"] = mustJSON(rf)
			ch.topics = append(ch.topics, "refunds/create")
		}
		ch.topics = append(ch.topics, "orders/updated")
		ch.payload = func(*order) obj {
			job := obj{"id": fmt.Sprintf("gid://shopify/Job/%s", a.ids().uuid()), "done": true}
			return obj{"job": job, "jobResult": nil, "orderCancelUserErrors": []any{}, "userErrors": []any{}}
		}
		return ch, nil
	})
}

func (a *adminAPI) orderMarkAsPaid(c fieldCall) (any, []gqlError) {
	input, _ := c.args["input"].(map[string]any)
	refused := func(errs []any) obj { return obj{"order": nil, "userErrors": errs} }
	return a.changeOrder(c, input["id"], refused, func(o *order, _ time.Time) (orderChange, []any) {
		if !canMarkAsPaid(o) {
			return orderChange{}, []any{userError("", "Order cannot be marked as paid.", "id")}
		}
		o.FinancialStatus = "paid"
		return orderChange{topics: []string{"orders/paid", "orders/updated"},
			payload: func(o *order) obj { return obj{"order": orderObject(o), "userErrors": []any{}} }}, nil
	})
}

// canMarkAsPaid is Order.canMarkAsPaid: money is still owed and the order is open.
func canMarkAsPaid(o *order) bool {
	return o.CancelledAt == nil && slices.Contains([]string{"pending", "authorized", "partially_paid"}, o.FinancialStatus)
}

func (a *adminAPI) orderUpdate(c fieldCall) (any, []gqlError) {
	input, _ := c.args["input"].(map[string]any)
	refused := func(errs []any) obj { return obj{"order": nil, "userErrors": errs} }
	return a.changeOrder(c, input["id"], refused, func(o *order, _ time.Time) (orderChange, []any) {
		if note, ok := input["note"]; ok {
			s, _ := note.(string)
			o.Note = nullable(s)
		}
		if tags, ok := input["tags"].([]any); ok {
			list := make([]string, 0, len(tags))
			for _, t := range tags {
				if s, _ := t.(string); strings.TrimSpace(s) != "" {
					if len(s) > 255 {
						return orderChange{}, []any{userError("", "Tags is too long (maximum is 255 characters)", "tags")}
					}
					list = append(list, strings.TrimSpace(s))
				}
			}
			o.Tags = strings.Join(list, ", ")
		}
		return orderChange{topics: []string{"orders/updated"},
			payload: func(o *order) obj { return obj{"order": orderObject(o), "userErrors": []any{}} }}, nil
	})
}

func (a *adminAPI) refundCreate(c fieldCall) (any, []gqlError) {
	input, _ := c.args["input"].(map[string]any)
	refused := func(errs []any) obj { return obj{"refund": nil, "order": nil, "userErrors": errs} }
	return a.changeOrder(c, input["orderId"], refused, func(o *order, at time.Time) (orderChange, []any) {
		var units []refundUnits
		asked := map[int64]int{}
		lines, _ := input["refundLineItems"].([]any)
		for i, l := range lines {
			m, _ := l.(map[string]any)
			field := func(name string) []string { return []string{"refundLineItems", strconv.Itoa(i), name} }
			id, errs := legacyID(m["lineItemId"], "LineItem")
			if errs != nil {
				return orderChange{}, []any{userError("", "Line item does not exist", field("lineItemId")...)}
			}
			li := slices.IndexFunc(o.LineItems, func(li lineItem) bool { return li.ID == id })
			if li < 0 {
				return orderChange{}, []any{userError("", "Line item does not exist", field("lineItemId")...)}
			}
			q := intArg(m["quantity"])
			asked[id] += q
			if q <= 0 || asked[id] > o.LineItems[li].CurrentQuantity {
				return orderChange{}, []any{userError("", "Quantity cannot refund more items than were purchased", field("quantity")...)}
			}
			restock, _ := m["restockType"].(string)
			if restock == "" {
				restock = "NO_RESTOCK"
			}
			if !slices.Contains([]string{"NO_RESTOCK", "CANCEL", "RETURN", "LEGACY_RESTOCK"}, restock) {
				return orderChange{}, []any{userError("", "Restock type is invalid", field("restockType")...)}
			}
			units = append(units, refundUnits{lineID: id, quantity: q, restockType: strings.ToLower(restock)})
		}
		var amount int64
		gateway := "shopify_payments"
		txs, _ := input["transactions"].([]any)
		for i, t := range txs {
			m, _ := t.(map[string]any)
			if kind, _ := m["kind"].(string); kind != "REFUND" {
				return orderChange{}, []any{userError("", "Transaction kind must be refund", "transactions", strconv.Itoa(i), "kind")}
			}
			amt, _ := m["amount"].(string)
			if !moneyPattern.MatchString(amt) {
				return orderChange{}, []any{userError("", fmt.Sprintf("Amount %q is not a valid amount", amt), "transactions", strconv.Itoa(i), "amount")}
			}
			amount += parseMinor(amt, o.cur.exp)
			if g, _ := m["gateway"].(string); g != "" {
				gateway = g
			}
		}
		received := int64(0)
		if slices.Contains([]string{"paid", "partially_refunded", "refunded"}, o.FinancialStatus) {
			received = o.total
		}
		if available := received - o.refunded; amount > available {
			return orderChange{}, []any{userError("", fmt.Sprintf("Refund amount %s is greater than the net payment received (%s available to refund)",
				formatMoney(amount, o.cur.exp), formatMoney(max(available, 0), o.cur.exp)), "transactions")}
		}
		if len(units) == 0 && amount == 0 {
			return orderChange{}, []any{userError("", "A refund needs line items or an amount", "refundLineItems")}
		}
		var note *string
		if n, ok := input["note"].(string); ok && n != "" {
			note = &n
		}
		g := a.ids()
		rf := g.refundLines(o, at, units, note)
		if amount > 0 {
			g.refundMoney(o, rf, amount, gateway)
		}
		created := *rf
		return orderChange{topics: []string{"refunds/create", "orders/updated"},
			bodies: map[string][]byte{"refunds/create": mustJSON(created)},
			payload: func(o *order) obj {
				return obj{"refund": refundObject(o, created), "order": orderObject(o), "userErrors": []any{}}
			}}, nil
	})
}

func (a *adminAPI) fulfillmentCreate(c fieldCall) (any, []gqlError) {
	input, _ := c.args["fulfillment"].(map[string]any)
	groups, _ := input["lineItemsByFulfillmentOrder"].([]any)
	refused := func(errs []any) obj { return obj{"fulfillment": nil, "userErrors": errs} }
	if len(groups) != 1 {
		// Fulfilment orders of one order at one location: the simulator
		// gives every order exactly one.
		return refused([]any{userError("", "Exactly one fulfillment order is supported", "fulfillment", "lineItemsByFulfillmentOrder")}), nil
	}
	group, _ := groups[0].(map[string]any)
	foID, errs := legacyID(group["fulfillmentOrderId"], "FulfillmentOrder")
	if errs != nil {
		return nil, errs
	}
	return a.changeOrder(c, fmt.Sprintf("gid://shopify/Order/%d", foID), refused, func(o *order, at time.Time) (orderChange, []any) {
		field := []string{"fulfillment", "lineItemsByFulfillmentOrder", "0"}
		if fulfillmentOrderStatus(o) != "OPEN" {
			return orderChange{}, []any{userError("", fmt.Sprintf("Fulfillment order %d has an unfulfillable status= %s.", foID, strings.ToLower(fulfillmentOrderStatus(o))), field...)}
		}
		units := map[int64]int{}
		items, listed := group["fulfillmentOrderLineItems"].([]any)
		if !listed { // every remaining unit
			for _, li := range o.LineItems {
				units[li.ID] = remaining(li)
			}
		}
		for i, it := range items {
			m, _ := it.(map[string]any)
			id, errs := legacyID(m["id"], "FulfillmentOrderLineItem")
			li := slices.IndexFunc(o.LineItems, func(li lineItem) bool { return li.ID == id })
			if errs != nil || li < 0 {
				return orderChange{}, []any{userError("", "Fulfillment order line item does not exist.", append(field, "fulfillmentOrderLineItems", strconv.Itoa(i), "id")...)}
			}
			q := intArg(m["quantity"])
			units[id] += q
			if q <= 0 || units[id] > remaining(o.LineItems[li]) {
				return orderChange{}, []any{userError("", "Invalid fulfillment order line item quantity requested.", append(field, "fulfillmentOrderLineItems", strconv.Itoa(i), "quantity")...)}
			}
		}
		t := tracking{company: "Other"}
		if ti, ok := input["trackingInfo"].(map[string]any); ok {
			t.company, _ = ti["company"].(string)
			t.number, _ = ti["number"].(string)
			t.url, _ = ti["url"].(string)
		}
		f := a.ids().ship(o, at, units, t)
		if f == nil {
			return orderChange{}, []any{userError("", "Nothing is left to fulfill.", field...)}
		}
		created := *f
		topic := "orders/partially_fulfilled"
		if *o.FulfillmentStatus == "fulfilled" {
			topic = "orders/fulfilled"
		}
		ts := at.In(o.cur.loc).Format(time.RFC3339)
		return orderChange{topics: []string{"fulfillments/create", topic, "orders/updated"},
			bodies: map[string][]byte{"fulfillments/create": mustJSON(fulfillmentBody(created, ts))},
			payload: func(o *order) obj {
				f := fulfillmentObject(created)
				f["order"] = orderObject(o)
				return obj{"fulfillment": f, "userErrors": []any{}}
			}}, nil
	})
}

// remaining is what is left to ship of a line: edits and refunds take
// units off its fulfilment order.
func remaining(li lineItem) int {
	return max(0, min(li.FulfillableQuantity, li.CurrentQuantity-li.fulfilled))
}

// fulfillmentOrderStatus is the status of the order's one fulfilment order.
func fulfillmentOrderStatus(o *order) string {
	switch {
	case o.CancelledAt != nil:
		return "CANCELLED"
	case slices.ContainsFunc(o.LineItems, func(li lineItem) bool { return remaining(li) > 0 }):
		return "OPEN"
	}
	return "CLOSED"
}

// moneyPattern is a Money scalar: a decimal string.
var moneyPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// intArg reads an Int argument: int64 from a literal, float64 from JSON variables.
func intArg(v any) int {
	switch n := v.(type) {
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return 0
}
