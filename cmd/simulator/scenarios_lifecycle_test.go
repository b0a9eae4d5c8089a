package main

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/ordermill/ordermill/shopify"
)

// The lifecycle scenario exercises every case it names, sends every topic
// in Shopify's shapes, and its expected state is the newest snapshot's.
func TestLifecycleScenario(t *testing.T) {
	p := runParams{Scenario: "lifecycle", Shop: "zeta.myshopify.com", Secret: "s", Target: "http://127.0.0.1:1", Seed: 11, Orders: 500, Concurrency: 1}
	plan := buildPlan(p)
	topics := map[string]int{}
	for _, d := range plan.deliveries {
		topics[d.Topic]++
		var body map[string]any
		if err := json.Unmarshal(d.Body, &body); err != nil {
			t.Fatalf("%s: %v", d.Topic, err)
		}
		switch d.Topic {
		case "orders/edited":
			edit, ok := body["order_edit"].(map[string]any)
			if !ok || edit["order_id"] == nil || edit["line_items"] == nil {
				t.Fatalf("orders/edited body: %s", d.Body)
			}
		case "fulfillments/create", "fulfillments/update":
			if body["order_id"] == nil || body["tracking_numbers"] == nil || body["line_items"] == nil {
				t.Fatalf("%s body: %s", d.Topic, d.Body)
			}
		case "orders/delete":
			if len(body) != 1 || body["id"] == nil {
				t.Fatalf("orders/delete body: %s", d.Body)
			}
		case "products/update":
			if _, err := shopify.DecodeProduct(d.Body); err != nil {
				t.Fatalf("products/update: %v", err)
			}
		}
	}
	for _, topic := range []string{"orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
		"orders/partially_fulfilled", "orders/edited", "orders/delete", "refunds/create", "fulfillments/create",
		"fulfillments/update", "products/update", "inventory_levels/update"} {
		if topics[topic] == 0 {
			t.Errorf("no %s delivery", topic)
		}
	}
	cases := map[string]int{}
	for _, o := range plan.expected.Orders {
		for _, c := range o.Cases {
			cases[c]++
		}
		// A refund the snapshot only states is in the current total, not in refunds[].
		if !slices.Contains(o.Cases, caseStatusRefunded) && o.CurrentTotal != o.Total-o.Refunded {
			t.Errorf("order %d: current total %d, total %d, refunded %d", o.ShopifyID, o.CurrentTotal, o.Total, o.Refunded)
		}
	}
	for _, c := range []string{caseEdit, caseStatusFulfilled, caseStatusRefunded, caseCancelAfterPayment, casePartialFulfilment,
		caseRefundBefore, caseRefundAfter, caseTracking, caseTest, caseArrivedCancelled, caseDeleted} {
		if cases[c] == 0 {
			t.Errorf("no order exercises %s", c)
		}
	}
	t.Logf("cases in 500 orders: %v", cases)
}
