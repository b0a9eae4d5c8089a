package main

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// mutationsFixture is a simulator whose shop is known from a run, so the
// webhooks of its mutations go to a receiver that checks their signatures.
type mutationsFixture struct {
	t     *testing.T
	sim   *simulator
	base  string
	shop  string
	token string
	gen   *generator
}

func newMutationsFixture(t *testing.T) *mutationsFixture {
	rc := &receiver{secret: "epsilon-secret", bodies: map[string][][]byte{}, failed: "none"}
	target := httptest.NewServer(rc)
	t.Cleanup(target.Close)
	sim, base := startSimulator(t, defaultAdmin, nil)
	f := &mutationsFixture{t: t, sim: sim, base: base, shop: "epsilon.myshopify.com", token: "shpat_epsilon", gen: newGenerator(5, "epsilon.myshopify.com")}
	call(t, "POST", base+"/_sim/shops", map[string]string{"shop": f.shop, "access_token": f.token}, nil)
	sim.targets[f.shop] = runTarget{target: target.URL, secret: rc.secret}
	return f
}

// place records a new order with Shopify, as if its orders/create had gone out an hour ago.
func (f *mutationsFixture) place(pending bool) *order {
	for {
		l := f.gen.newOrder()
		if (l.o.FinancialStatus == "pending") != pending {
			continue
		}
		at := time.Now().Add(-time.Hour).Truncate(time.Second)
		a := f.gen.advance(l, at)
		f.sim.orders.record(f.shop, l.o.ID, a.state)
		return l.o
	}
}

// mutate runs one operation and returns its data and top-level errors.
func (f *mutationsFixture) mutate(query string, vars map[string]any) (map[string]any, []gqlError) {
	f.t.Helper()
	var out struct {
		Data   map[string]any
		Errors []gqlError
	}
	adminPost(f.t, f.base, f.token, map[string]any{"query": query, "variables": vars}, &out)
	return out.Data, out.Errors
}

// userErrors returns the messages of a payload's userErrors (orderCancel's
// orderCancelUserErrors).
func userErrors(data map[string]any, field string) []string {
	payload, _ := data[field].(map[string]any)
	list, _ := payload["userErrors"].([]any)
	if field == "orderCancel" {
		list, _ = payload["orderCancelUserErrors"].([]any)
	}
	var out []string
	for _, e := range list {
		out = append(out, e.(map[string]any)["message"].(string))
	}
	return out
}

// delivered waits for the webhooks of mutations to reach the receiver and
// returns the topics delivered since the first n.
func (f *mutationsFixture) delivered(n int) []string {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got struct{ Deliveries []delivery }
		call(f.t, "GET", f.base+"/_sim/deliveries?shop="+f.shop, nil, &got)
		done := !slices.ContainsFunc(got.Deliveries, func(d delivery) bool { return d.Status == 0 && !d.Dropped })
		if done {
			var topics []string
			for _, d := range got.Deliveries[n:] {
				if d.Status != 200 {
					f.t.Fatalf("delivery of %s answered %d (%s)", d.Topic, d.Status, d.Error)
				}
				topics = append(topics, d.Topic)
			}
			return topics
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("mutation webhooks still on the way: %+v", got.Deliveries)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f *mutationsFixture) order(id int64) *order {
	f.t.Helper()
	o, err := liveOrder(f.sim.orders.get(f.shop, id).snapshot)
	if err != nil {
		f.t.Fatal(err)
	}
	return o
}

func orderGID(o *order) string { return fmt.Sprintf("gid://shopify/Order/%d", o.ID) }

const (
	markAsPaid = `mutation($id: ID!) { orderMarkAsPaid(input: {id: $id}) { order { id displayFinancialStatus } userErrors { field message } } }`
	cancel     = `mutation($id: ID!) { orderCancel(orderId: $id, reason: CUSTOMER, restock: true, refundMethod: {originalPaymentMethodsRefund: true}) {
		job { id done } orderCancelUserErrors { code field message } } }`
	update         = `mutation($input: OrderInput!) { orderUpdate(input: $input) { order { id note tags } userErrors { field message } } }`
	refundMutation = `mutation($input: RefundInput!, $key: String!) { refundCreate(input: $input) @idempotent(key: $key) {
		refund { id note totalRefundedSet { shopMoney { amount } } } order { displayFinancialStatus } userErrors { field message } } }`
	fulfil = `mutation($input: FulfillmentInput!) { fulfillmentCreate(fulfillment: $input) {
		fulfillment { id status trackingInfo { company number url } } userErrors { field message } } }`
	fulfillmentOrdersQuery = `query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 5) { nodes { id status
		lineItems(first: 10) { nodes { id remainingQuantity lineItem { id } } } } } } }`
	adjust = `mutation($input: InventoryAdjustQuantitiesInput!, $key: String!) { inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
		inventoryAdjustmentGroup { changes { name delta quantityAfterChange } } userErrors { code field message } } }`
)

func TestMarkAsPaidAndUpdate(t *testing.T) {
	f := newMutationsFixture(t)
	o := f.place(true)
	data, errs := f.mutate(markAsPaid, map[string]any{"id": orderGID(o)})
	if errs != nil || userErrors(data, "orderMarkAsPaid") != nil || f.order(o.ID).FinancialStatus != "paid" {
		t.Fatalf("mark as paid: %v %v", data, errs)
	}
	if got := f.delivered(0); fmt.Sprint(got) != "[orders/paid orders/updated]" {
		t.Errorf("webhooks of orderMarkAsPaid: %v", got)
	}
	data, _ = f.mutate(markAsPaid, map[string]any{"id": orderGID(o)})
	if got := userErrors(data, "orderMarkAsPaid"); fmt.Sprint(got) != "[Order cannot be marked as paid.]" {
		t.Errorf("marking a paid order paid: %v", got)
	}
	data, _ = f.mutate(markAsPaid, map[string]any{"id": "gid://shopify/Order/1"})
	if got := userErrors(data, "orderMarkAsPaid"); fmt.Sprint(got) != "[Order does not exist]" {
		t.Errorf("an unknown order: %v", got)
	}

	data, errs = f.mutate(update, map[string]any{"input": map[string]any{"id": orderGID(o), "note": "Leave at the door", "tags": []string{"vip", " gift "}}})
	if errs != nil || userErrors(data, "orderUpdate") != nil {
		t.Fatalf("order update: %v %v", data, errs)
	}
	if got := f.order(o.ID); *got.Note != "Leave at the door" || got.Tags != "vip, gift" {
		t.Errorf("after orderUpdate: note %q tags %q", *got.Note, got.Tags)
	}
	if got := f.delivered(2); fmt.Sprint(got) != "[orders/updated]" {
		t.Errorf("webhooks of orderUpdate: %v", got)
	}
}

func TestFulfilRefundCancel(t *testing.T) {
	f := newMutationsFixture(t)
	o := f.place(false)
	for len(o.LineItems) < 2 {
		o = f.place(false)
	}

	data, _ := f.mutate(fulfillmentOrdersQuery, map[string]any{"id": orderGID(o)})
	fo := data["order"].(map[string]any)["fulfillmentOrders"].(map[string]any)["nodes"].([]any)[0].(map[string]any)
	items := fo["lineItems"].(map[string]any)["nodes"].([]any)
	first := items[0].(map[string]any)
	if fo["status"] != "OPEN" || len(items) != len(o.LineItems) || first["remainingQuantity"] != float64(o.LineItems[0].Quantity) {
		t.Fatalf("fulfillment order: %v", fo)
	}
	ship := func(qty int) map[string]any {
		return map[string]any{"input": map[string]any{
			"lineItemsByFulfillmentOrder": []any{map[string]any{"fulfillmentOrderId": fo["id"],
				"fulfillmentOrderLineItems": []any{map[string]any{"id": first["id"], "quantity": qty}}}},
			"trackingInfo": map[string]any{"company": "DHL Express", "number": "JD0001", "url": "https://track.example.test/JD0001"},
		}}
	}
	data, _ = f.mutate(fulfil, ship(o.LineItems[0].Quantity+1))
	if got := userErrors(data, "fulfillmentCreate"); fmt.Sprint(got) != "[Invalid fulfillment order line item quantity requested.]" {
		t.Errorf("shipping more than ordered: %v", got)
	}
	data, errs := f.mutate(fulfil, ship(1))
	created, _ := data["fulfillmentCreate"].(map[string]any)["fulfillment"].(map[string]any)
	if errs != nil || created == nil || fmt.Sprint(created["trackingInfo"]) != "[map[company:DHL Express number:JD0001 url:https://track.example.test/JD0001]]" {
		t.Fatalf("fulfil one unit: %v %v", data, errs)
	}
	if got := f.order(o.ID); len(got.Fulfillments) != 1 || got.LineItems[0].fulfilled != 1 || *got.FulfillmentStatus != "partial" {
		t.Errorf("after fulfillmentCreate: %+v", got.Fulfillments)
	}
	if got := f.delivered(0); fmt.Sprint(got) != "[fulfillments/create orders/partially_fulfilled orders/updated]" {
		t.Errorf("webhooks of fulfillmentCreate: %v", got)
	}

	line := o.LineItems[1]
	input := map[string]any{"orderId": orderGID(o), "note": "damaged in transit",
		"refundLineItems": []any{map[string]any{"lineItemId": fmt.Sprintf("gid://shopify/LineItem/%d", line.ID), "quantity": 1, "restockType": "RETURN"}},
		"transactions":    []any{map[string]any{"orderId": orderGID(o), "kind": "REFUND", "gateway": "shopify_payments", "amount": line.Price}}}
	if _, errs := f.mutate(strings.Replace(refundMutation, " @idempotent(key: $key)", "", 1), map[string]any{"input": input, "key": "k"}); len(errs) != 1 || !strings.Contains(errs[0].Message, "@idempotent") {
		t.Errorf("refundCreate without an idempotency key: %v", errs)
	}
	data, errs = f.mutate(refundMutation, map[string]any{"input": input, "key": "refund-1"})
	rf, _ := data["refundCreate"].(map[string]any)["refund"].(map[string]any)
	if errs != nil || rf == nil || rf["note"] != "damaged in transit" || data["refundCreate"].(map[string]any)["order"].(map[string]any)["displayFinancialStatus"] != "PARTIALLY_REFUNDED" {
		t.Fatalf("refund: %v %v", data, errs)
	}
	again, _ := f.mutate(refundMutation, map[string]any{"input": input, "key": "refund-1"})
	if again["refundCreate"].(map[string]any)["refund"].(map[string]any)["id"] != rf["id"] || len(f.order(o.ID).Refunds) != 1 {
		t.Errorf("a repeated key refunded again: %v", again)
	}
	if got := f.delivered(3); fmt.Sprint(got) != "[refunds/create orders/updated]" {
		t.Errorf("webhooks of refundCreate: %v", got)
	}
	input["refundLineItems"] = []any{}
	input["transactions"] = []any{map[string]any{"orderId": orderGID(o), "kind": "REFUND", "gateway": "shopify_payments", "amount": o.TotalPrice}}
	data, _ = f.mutate(refundMutation, map[string]any{"input": input, "key": "refund-2"})
	if got := userErrors(data, "refundCreate"); len(got) != 1 || !strings.Contains(got[0], "greater than the net payment received") || len(f.order(o.ID).Refunds) != 1 {
		t.Errorf("refunding more than was paid: %v", got)
	}

	data, _ = f.mutate(cancel, map[string]any{"id": orderGID(o)})
	if got := userErrors(data, "orderCancel"); fmt.Sprint(got) != "[Cannot cancel an order that has fulfilled items]" || f.order(o.ID).CancelledAt != nil {
		t.Errorf("cancelling a shipped order: %v", data)
	}
	fresh := f.place(false)
	data, errs = f.mutate(cancel, map[string]any{"id": orderGID(fresh)})
	if errs != nil || userErrors(data, "orderCancel") != nil {
		t.Fatalf("cancel: %v %v", data, errs)
	}
	if got := f.order(fresh.ID); got.CancelledAt == nil || got.FinancialStatus != "refunded" || len(got.Refunds) != 1 || !got.Refunds[0].Restock {
		t.Errorf("after orderCancel: cancelled %v, %s, refunds %+v", got.CancelledAt, got.FinancialStatus, got.Refunds)
	}
	if got := f.delivered(5); fmt.Sprint(got) != "[orders/cancelled refunds/create orders/updated]" {
		t.Errorf("webhooks of orderCancel: %v", got)
	}
	data, _ = f.mutate(cancel, map[string]any{"id": orderGID(fresh)})
	if got := userErrors(data, "orderCancel"); fmt.Sprint(got) != "[Order has already been cancelled]" {
		t.Errorf("cancelling twice: %v", got)
	}
}

func TestInventoryAdjustQuantities(t *testing.T) {
	f := newMutationsFixture(t)
	p, loc := catalog[2], locations[1]
	f.sim.admin.levels.recordWebhook(f.shop, mustJSON(inventoryLevel{InventoryItemID: p.inventoryItemID, LocationID: loc, Available: 7}))
	change := func(item int64) map[string]any {
		return map[string]any{"name": "available", "reason": "correction", "referenceDocumentUri": "ordermill://adjustments/1",
			"changes": []any{map[string]any{"inventoryItemId": fmt.Sprintf("gid://shopify/InventoryItem/%d", item),
				"locationId": fmt.Sprintf("gid://shopify/Location/%d", loc), "delta": 5}}}
	}
	data, errs := f.mutate(adjust, map[string]any{"input": change(p.inventoryItemID), "key": "adj-1"})
	if errs != nil || fmt.Sprint(data["inventoryAdjustQuantities"].(map[string]any)["inventoryAdjustmentGroup"]) != "map[changes:[map[delta:5 name:available quantityAfterChange:12]]]" {
		t.Fatalf("adjust: %v %v", data, errs)
	}
	f.mutate(adjust, map[string]any{"input": change(p.inventoryItemID), "key": "adj-1"})
	if got := f.sim.admin.levels.m[levelKey{f.shop, p.inventoryItemID, loc}]; got != 12 {
		t.Errorf("level after the adjustment and its retry: %d, want 12", got)
	}
	var got struct{ Deliveries []delivery }
	f.delivered(0)
	call(t, "GET", f.base+"/_sim/deliveries", nil, &got)
	var lv inventoryLevel
	if len(got.Deliveries) != 1 || json.Unmarshal(got.Deliveries[0].Body, &lv) != nil || lv.Available != 12 || got.Deliveries[0].Topic != "inventory_levels/update" {
		t.Errorf("webhooks of the adjustment: %+v", got.Deliveries)
	}
	data, _ = f.mutate(adjust, map[string]any{"input": change(1), "key": "adj-2"})
	if got := userErrors(data, "inventoryAdjustQuantities"); fmt.Sprint(got) != "[The specified inventory item could not be found.]" {
		t.Errorf("an unknown item: %v", got)
	}
}
