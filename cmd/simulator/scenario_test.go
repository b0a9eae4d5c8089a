package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func faultyParams() runParams {
	return runParams{
		Scenario: "orders", Shop: "alpha.myshopify.com", Secret: "alpha-secret", Target: "http://127.0.0.1:1",
		Seed: 42, Orders: 60, Concurrency: 1,
		DuplicatePct: 10, ReorderPct: 15, BadSignaturePct: 10, MalformedPct: 10,
	}
}

func TestPlanIsDeterministic(t *testing.T) {
	p := faultyParams()
	a, b := buildPlan(p), buildPlan(p)
	if !bytes.Equal(mustJSON(a.deliveries), mustJSON(b.deliveries)) {
		t.Fatal("same seed gave different deliveries")
	}
	if !bytes.Equal(mustJSON(a.expected), mustJSON(b.expected)) {
		t.Fatal("same seed gave different expected state")
	}
	p.Seed = 43
	if c := buildPlan(p); bytes.Equal(mustJSON(a.deliveries), mustJSON(c.deliveries)) {
		t.Fatal("different seeds gave the same deliveries")
	}
}

func TestPlanInjectsEveryFault(t *testing.T) {
	pl := buildPlan(faultyParams())
	faults := map[string]int{}
	seen := map[string]*delivery{}
	var dups, late int
	for i, d := range pl.deliveries {
		faults[d.Fault]++
		if d.Duplicate {
			dups++
			orig := seen[d.WebhookID]
			if orig == nil || !bytes.Equal(orig.Body, d.Body) || orig.HMAC != d.HMAC || orig.EventID != d.EventID {
				t.Errorf("duplicate %s is not an exact copy of an earlier delivery", d.WebhookID)
			}
		} else if seen[d.WebhookID] != nil {
			t.Errorf("webhook id %s reused by a non-duplicate", d.WebhookID)
		}
		seen[d.WebhookID] = d
		if d.Late && !d.Duplicate {
			late++
			if !newerSnapshotBefore(pl.deliveries[:i], d) {
				t.Errorf("late delivery %s does not follow a newer snapshot", d.WebhookID)
			}
		}
	}
	for _, f := range []string{"", "wrong_secret", "missing_hmac", "tampered_body", "truncated_json", "non_numeric_id"} {
		if faults[f] == 0 {
			t.Errorf("no delivery with fault %q", f)
		}
	}
	if dups == 0 || late == 0 {
		t.Errorf("duplicates=%d late=%d, want some of each", dups, late)
	}
}

func newerSnapshotBefore(before []*delivery, d *delivery) bool {
	for _, e := range before {
		if e.snapshot && e.OrderID == d.OrderID && e.state.updated.After(d.state.updated) {
			return true
		}
	}
	return false
}

// verifyHMAC is written from Shopify's documentation rather than reusing
// sign, so a mistake in sign cannot hide itself.
func verifyHMAC(secret string, body []byte, header string) bool {
	want, err := base64.StdEncoding.DecodeString(header)
	if err != nil || header == "" {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(mac.Sum(nil), want)
}

func TestSignatures(t *testing.T) {
	p := faultyParams()
	for _, d := range buildPlan(p).deliveries {
		badSig := d.Fault == "wrong_secret" || d.Fault == "missing_hmac" || d.Fault == "tampered_body"
		if ok := verifyHMAC(p.Secret, d.Body, d.HMAC); ok == badSig {
			t.Errorf("%s (fault %q): signature valid=%v", d.WebhookID, d.Fault, ok)
		}
		if want := map[bool]int{true: http.StatusUnauthorized, false: http.StatusOK}[badSig]; d.ExpectedStatus != want {
			t.Errorf("%s (fault %q): expected status %d, want %d", d.WebhookID, d.Fault, d.ExpectedStatus, want)
		}
	}
}

func TestIDsSurviveUseNumber(t *testing.T) {
	const maxExact = 1 << 53
	p := faultyParams()
	p.BadSignaturePct, p.MalformedPct = 0, 0
	var jpy bool
	for _, d := range buildPlan(p).deliveries {
		if !d.snapshot {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(d.Body))
		dec.UseNumber()
		var o struct {
			ID         json.Number `json:"id"`
			Currency   string      `json:"currency"`
			TotalPrice string      `json:"total_price"`
			LineItems  []struct {
				ID json.Number `json:"id"`
			} `json:"line_items"`
		}
		if err := dec.Decode(&o); err != nil {
			t.Fatal(err)
		}
		id, err := strconv.ParseInt(o.ID.String(), 10, 64)
		if err != nil || id <= maxExact || id != d.OrderID {
			t.Fatalf("order id %s: parsed %d, %v; want %d > 2^53", o.ID, id, err, d.OrderID)
		}
		for _, li := range o.LineItems {
			if n, err := li.ID.Int64(); err != nil || n <= maxExact {
				t.Fatalf("line item id %s not an int64 above 2^53", li.ID)
			}
		}
		if o.Currency == "JPY" {
			jpy = true
			if strings.Contains(o.TotalPrice, ".") {
				t.Errorf("JPY total %q has decimals", o.TotalPrice)
			}
		}
	}
	if !jpy {
		t.Error("no JPY order generated")
	}
}

func TestExpectedState(t *testing.T) {
	p := faultyParams()
	p.DuplicatePct, p.ReorderPct, p.BadSignaturePct, p.MalformedPct = 0, 0, 0, 0
	pl := buildPlan(p)
	if len(pl.expected.Orders) != p.Orders {
		t.Fatalf("expected %d orders, got %d", p.Orders, len(pl.expected.Orders))
	}
	// The expected state must match the last snapshot Shopify sent.
	last := map[int64][]byte{}
	for _, d := range pl.deliveries {
		if d.snapshot {
			last[d.OrderID] = d.Body
		}
	}
	statuses := map[string]int{}
	for _, e := range pl.expected.Orders {
		var o struct {
			FinancialStatus   string  `json:"financial_status"`
			FulfillmentStatus *string `json:"fulfillment_status"`
			CancelledAt       *string `json:"cancelled_at"`
		}
		if err := json.Unmarshal(last[e.ShopifyID], &o); err != nil {
			t.Fatal(err)
		}
		if o.FinancialStatus != e.FinancialStatus || (o.CancelledAt != nil) != e.Cancelled || str(o.FulfillmentStatus) != str(e.FulfillmentStatus) {
			t.Errorf("order %d: expected %+v disagrees with last snapshot %+v", e.ShopifyID, e, o)
		}
		if e.FinancialStatus == "refunded" && e.Refunded != e.Total {
			t.Errorf("order %d refunded %d of %d", e.ShopifyID, e.Refunded, e.Total)
		}
		statuses[e.FinancialStatus]++
		statuses["fulfillment:"+str(e.FulfillmentStatus)]++
	}
	for _, s := range []string{"paid", "partially_refunded", "refunded", "voided", "fulfillment:partial", "fulfillment:fulfilled", "fulfillment:"} {
		if statuses[s] == 0 {
			t.Errorf("no order ends %q; got %v", s, statuses)
		}
	}

	p.BadSignaturePct = 100
	if n := len(buildPlan(p).expected.Orders); n != 0 {
		t.Errorf("all deliveries badly signed, yet %d orders expected", n)
	}
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestOtherScenarios(t *testing.T) {
	for name, topics := range map[string][]string{
		"compliance": {"customers/data_request", "customers/redact"},
		"uninstall":  {"app/uninstalled", "shop/redact"},
		"inventory":  {"inventory_levels/update", "locations/update"},
	} {
		p := runParams{Scenario: name, Shop: "beta.myshopify.com", Secret: "s", Target: "http://127.0.0.1:1", Seed: 7, Orders: 5, Concurrency: 1}
		got := map[string]bool{}
		for _, d := range buildPlan(p).deliveries {
			got[d.Topic] = true
			if !json.Valid(d.Body) {
				t.Errorf("%s: invalid JSON for %s", name, d.Topic)
			}
		}
		for _, topic := range topics {
			if !got[topic] {
				t.Errorf("%s: no %s delivery", name, topic)
			}
		}
	}
}
