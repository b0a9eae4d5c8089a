package main

import (
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
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
		s, err := domain.DecodeShopifyOrder(d.Body)
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
	for _, sc := range []string{"inventory", "compliance"} {
		p := runParams{Scenario: sc, Shop: "epsilon.myshopify.com", Secret: "s", Seed: 9, Orders: 4}
		for _, d := range buildPlan(p).deliveries {
			var err error
			switch d.Topic {
			case "inventory_levels/update":
				_, err = domain.DecodeShopifyInventoryLevel(d.Body)
			case "customers/redact":
				_, err = domain.DecodeShopifyCustomerRedact(d.Body)
			}
			if err != nil {
				t.Errorf("%s: %v\n%s", d.Topic, err, d.Body)
			}
		}
	}
}
