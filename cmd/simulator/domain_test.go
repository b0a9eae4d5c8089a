package main

import (
	"testing"
	"time"

	"github.com/ordermill/ordermill/shopify"
)

// TestPayloadsDecodeWithDomain checks the simulator and the receiver's
// decoder agree: valid bodies decode to the expected figures, malformed
// ones are refused.
func TestPayloadsDecodeWithDomain(t *testing.T) {
	p := faultyParams()
	p.BadSignaturePct, p.MalformedPct = 0, 20
	pl := buildPlan(p)
	for _, d := range pl.deliveries {
		if !d.snapshot {
			continue
		}
		s, err := shopify.DecodeOrder(d.Body)
		if d.Bad {
			if err == nil {
				t.Errorf("%s (%s) decoded", d.WebhookID, d.Fault)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", d.Topic, err, d.Body)
		}
		e := d.state.expected
		if s.ID != e.ShopifyID || s.TotalPrice.Amount != e.Total || s.FinancialStatus != e.FinancialStatus || !s.UpdatedAt.Equal(d.state.updated.Truncate(time.Second)) {
			t.Errorf("%s: decoded %+v, expected %+v", d.Topic, s, e)
		}
	}
	// Every body the simulator sends is one of its topic, of the shop it
	// signs for: the receiver refuses anything else.
	const shop = "epsilon.myshopify.com"
	signer := shopify.Signer{Domain: shop, ShopID: shopID(shop)}
	for _, sc := range []string{"orders", "inventory", "compliance", "uninstall"} {
		p := runParams{Scenario: sc, Shop: shop, Secret: "s", Seed: 9, Orders: 4}
		topics := map[string]bool{}
		for _, d := range buildPlan(p).deliveries {
			topics[d.Topic] = true
			v, err := shopify.DecodeWebhook(d.Topic, d.Body, signer)
			if err != nil || v == nil {
				t.Errorf("%s %s: %v, %v\n%s", sc, d.Topic, v, err, d.Body)
			}
		}
		if len(topics) == 0 {
			t.Errorf("%s sent nothing", sc)
		}
	}
}
