package main

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/ordermill/ordermill/internal/simexpect"
	"github.com/ordermill/ordermill/shopify"
)

// runParams is the body of POST /_sim/runs.
type runParams struct {
	Scenario        string  `json:"scenario"`
	Shop            string  `json:"shop"`
	Secret          string  `json:"secret"`
	Target          string  `json:"target"`
	Seed            int64   `json:"seed"`
	Orders          int     `json:"orders"`
	Rate            float64 `json:"rate"`
	Concurrency     int     `json:"concurrency"`
	DuplicatePct    float64 `json:"duplicate_pct"`
	ReorderPct      float64 `json:"reorder_pct"`
	BadSignaturePct float64 `json:"bad_signature_pct"`
	MalformedPct    float64 `json:"malformed_pct"`
	// DropPct is the share of webhooks Shopify never delivers (the order
	// still changes, as the Admin API shows): what reconciliation heals.
	DropPct float64 `json:"drop_pct"`
	// Start is when the scenario's first order is placed (default a fixed
	// date, so a seed reproduces its timestamps).
	Start time.Time `json:"start"`
}

type expectedState struct {
	Orders []simexpect.Order `json:"orders"`
}

type plan struct {
	deliveries []*delivery
	expected   expectedState
	shopify    expectedState
}

// scenarioBase anchors synthetic timestamps so a seed reproduces them.
var scenarioBase = time.Date(2025, 11, 24, 15, 0, 0, 0, time.UTC)

// scenarios turn a generator and an order count into merchant actions in
// the order Shopify would emit them.
var scenarios = map[string]func(g *generator, n int) []action{
	"orders":     ordersScenario,
	"compliance": complianceScenario,
	"uninstall":  uninstallScenario,
	"inventory":  inventoryScenario,
	"lifecycle":  lifecycleScenario,
	"open":       openScenario,
}

func minutes(n int) time.Duration { return time.Duration(n) * time.Minute }

// openScenario places n orders and leaves them to the merchant, about a
// third of them unpaid and none shipped: what write-back acts on.
func openScenario(g *generator, n int) []action {
	actions := make([]action, n)
	for i := range n {
		actions[i] = g.advance(g.newOrder(), g.base.Add(minutes(i)))
	}
	return actions
}

// ordersScenario plays n whole order lives, interleaved by time.
func ordersScenario(g *generator, n int) []action {
	var actions []action
	for i := range n {
		l := g.newOrder()
		at := g.base.Add(minutes(3*i) + time.Duration(g.rng.IntN(120))*time.Second)
		for !l.done() {
			actions = append(actions, g.advance(l, at))
			at = at.Add(minutes(10 + g.rng.IntN(600)))
		}
	}
	slices.SortStableFunc(actions, func(a, b action) int { return a.at.Compare(b.at) })
	return actions
}

type complianceCustomer struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

type dataRequest struct {
	ShopID          int64              `json:"shop_id"`
	ShopDomain      string             `json:"shop_domain"`
	OrdersRequested []int64            `json:"orders_requested"`
	Customer        complianceCustomer `json:"customer"`
	DataRequest     struct {
		ID int64 `json:"id"`
	} `json:"data_request"`
}

type customerRedact struct {
	ShopID         int64              `json:"shop_id"`
	ShopDomain     string             `json:"shop_domain"`
	Customer       complianceCustomer `json:"customer"`
	OrdersToRedact []int64            `json:"orders_to_redact"`
}

type shopRedact struct {
	ShopID     int64  `json:"shop_id"`
	ShopDomain string `json:"shop_domain"`
}

type shopObject struct {
	ID              int64  `json:"id"`
	Name            string `json:"name"`
	Email           string `json:"email"`
	Domain          string `json:"domain"`
	MyshopifyDomain string `json:"myshopify_domain"`
	Currency        string `json:"currency"`
	IanaTimezone    string `json:"iana_timezone"`
	PlanName        string `json:"plan_name"`
}

type inventoryLevel struct {
	InventoryItemID   int64  `json:"inventory_item_id"`
	LocationID        int64  `json:"location_id"`
	Available         int    `json:"available"`
	UpdatedAt         string `json:"updated_at"`
	AdminGraphqlAPIID string `json:"admin_graphql_api_id"`
}

// shopID is stable per domain, as a shop's id is.
func shopID(domain string) int64 {
	h := fnv.New64a()
	h.Write([]byte(domain))
	return int64(h.Sum64()%90_000_000_000) + 10_000_000_000
}

func (g *generator) single(at time.Time, topic string, v any) action {
	return action{at: at, eventID: g.uuid(), msgs: []message{{topic: topic, body: mustJSON(v)}}}
}

// complianceScenario runs the orders scenario, then a data request for the
// first customer and a redaction for the last one, with their order ids.
func complianceScenario(g *generator, n int) []action {
	actions := ordersScenario(g, max(n, 1))
	at := actions[len(actions)-1].at.Add(time.Hour)
	sid := shopID(g.shop)
	first, last := g.customers[0], g.customers[len(g.customers)-1]
	dr := dataRequest{
		ShopID: sid, ShopDomain: g.shop, OrdersRequested: nonNil(g.owned[first.ID]),
		Customer: complianceCustomer{ID: first.ID, Email: first.Email, Phone: first.Phone},
	}
	dr.DataRequest.ID = g.id()
	cr := customerRedact{
		ShopID: sid, ShopDomain: g.shop, OrdersToRedact: nonNil(g.owned[last.ID]),
		Customer: complianceCustomer{ID: last.ID, Email: last.Email, Phone: last.Phone},
	}
	return append(actions,
		g.single(at, "customers/data_request", dr),
		g.single(at.Add(time.Hour), "customers/redact", cr))
}

func nonNil(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

// uninstallScenario is the end of a shop: app/uninstalled, then shop/redact
// which Shopify sends 48 hours later.
func uninstallScenario(g *generator, _ int) []action {
	sid := shopID(g.shop)
	shop := shopObject{
		ID: sid, Name: g.shop, Email: "owner@example.test", Domain: g.shop, MyshopifyDomain: g.shop,
		Currency: "USD", IanaTimezone: "America/New_York", PlanName: "basic",
	}
	return []action{
		g.single(g.base, "app/uninstalled", shop),
		g.single(g.base.Add(48*time.Hour), "shop/redact", shopRedact{ShopID: sid, ShopDomain: g.shop}),
	}
}

var locations = []int64{65_094_860_801, 65_094_860_802}

// locationNames are the names of locations, by index.
var locationNames = []string{"Ottawa warehouse", "Rideau Street shop"}

// inventoryScenario sends the catalog, then n stock level changes across it.
func inventoryScenario(g *generator, n int) []action {
	actions := g.catalogUpdates(scenarioBase.Add(-time.Hour))
	for i := range n {
		at := g.base.Add(minutes(i))
		actions = append(actions, g.inventoryUpdate(at))
	}
	return actions
}

func (g *generator) inventoryUpdate(at time.Time) action {
	p := catalog[g.rng.IntN(len(catalog))]
	loc := locations[g.rng.IntN(len(locations))]
	return g.single(at, "inventory_levels/update", inventoryLevel{
		InventoryItemID:   p.inventoryItemID,
		LocationID:        loc,
		Available:         g.rng.IntN(200),
		UpdatedAt:         at.In(currencies[0].loc).Format(time.RFC3339),
		AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/InventoryLevel/%d?inventory_item_id=%d", loc, p.inventoryItemID),
	})
}

// buildPlan turns a run's parameters into its exact deliveries and the
// state a correct receiver ends up with. Faults use their own random
// source so changing a percentage does not change the orders.
func buildPlan(p runParams) plan {
	g := newGenerator(p.Seed, p.Shop)
	if !p.Start.IsZero() {
		g.base = p.Start.UTC()
	}
	var ds []*delivery
	for _, a := range scenarios[p.Scenario](g, p.Orders) {
		for _, m := range a.msgs {
			ds = append(ds, g.delivery(a, m, p.Shop, p.Secret))
		}
	}
	ds = injectFaults(ds, p, rand.New(rand.NewPCG(uint64(p.Seed), 0xfa17)))
	return plan{deliveries: ds, expected: expectedFrom(ds), shopify: shopifyFrom(ds)}
}

// delivery signs one webhook of an action; its webhook id is drawn from the
// generator so a seed reproduces it.
func (g *generator) delivery(a action, m message, shop, secret string) *delivery {
	return &delivery{
		WebhookID:      g.uuid(),
		EventID:        a.eventID,
		Topic:          m.topic,
		Shop:           shop,
		OrderID:        a.orderID,
		TriggeredAt:    a.at.UTC().Format(time.RFC3339Nano),
		HMAC:           sign(m.body, secret),
		Body:           m.body,
		ExpectedStatus: http.StatusOK,
		state:          a.state,
		snapshot:       m.snapshot,
	}
}

func chance(r *rand.Rand, pct float64) bool { return pct > 0 && r.Float64()*100 < pct }

// injectFaults corrupts, duplicates and delays deliveries. A late delivery
// is moved after the next newer snapshot of its order, wherever that one
// ends up; a duplicate is an exact copy (same webhook id) sent a few
// deliveries later.
func injectFaults(ds []*delivery, p runParams, r *rand.Rand) []*delivery {
	late := make([]bool, len(ds))
	for i, d := range ds {
		switch {
		case chance(r, p.BadSignaturePct):
			corruptSignature(d, p.Secret, r)
		case chance(r, p.MalformedPct):
			malform(d, p.Secret, r)
		}
		late[i] = d.snapshot && chance(r, p.ReorderPct)
		d.Dropped = !d.Bad && chance(r, p.DropPct)
	}
	// Backwards, so the snapshot a late one follows already has its key.
	keys := make([]float64, len(ds))
	newer := make([]int, len(ds)) // next strictly newer snapshot of the order
	seen := map[int64]int{}
	for i := len(ds) - 1; i >= 0; i-- {
		keys[i], newer[i] = float64(i), -1
		d := ds[i]
		if !d.snapshot {
			continue
		}
		if j, ok := seen[d.OrderID]; ok {
			newer[i] = j
			if !ds[j].state.updated.After(d.state.updated) {
				newer[i] = newer[j]
			}
		}
		seen[d.OrderID] = i
		if j := newer[i]; late[i] && j >= 0 {
			d.Late = true
			keys[i] = keys[j] + 0.5
		}
	}
	type keyed struct {
		key float64
		d   *delivery
	}
	out := make([]keyed, 0, len(ds))
	for i, d := range ds {
		out = append(out, keyed{keys[i], d})
		if chance(r, p.DuplicatePct) {
			dup := *d
			dup.Duplicate = true
			out = append(out, keyed{keys[i] + 0.25 + float64(r.IntN(3)), &dup})
		}
	}
	slices.SortStableFunc(out, func(a, b keyed) int { return cmp.Compare(a.key, b.key) })
	res := make([]*delivery, len(out))
	for i, k := range out {
		res[i] = k.d
	}
	return res
}

var (
	firstID    = regexp.MustCompile(`"id":\d+`)
	totalPrice = regexp.MustCompile(`"total_price":"[^"]*"`)
)

// corruptSignature makes a delivery a receiver must answer 401.
func corruptSignature(d *delivery, secret string, r *rand.Rand) {
	d.Bad, d.ExpectedStatus = true, http.StatusUnauthorized
	switch r.IntN(3) {
	case 0:
		d.Fault, d.HMAC = "wrong_secret", sign(d.Body, "wrong-"+secret)
	case 1:
		d.Fault, d.HMAC = "missing_hmac", ""
	default:
		// The HMAC stays that of the original body.
		d.Fault = "tampered_body"
		if loc := totalPrice.FindIndex(d.Body); loc != nil {
			d.Body = slices.Concat(d.Body[:loc[0]], []byte(`"total_price":"0.01"`), d.Body[loc[1]:])
		} else {
			d.Body = slices.Concat([]byte(" "), d.Body)
		}
	}
}

// malform breaks the body but signs it correctly: the receiver must
// acknowledge it (Shopify would retry otherwise) and record the failure.
func malform(d *delivery, secret string, r *rand.Rand) {
	d.Bad = true
	if loc := firstID.FindIndex(d.Body); loc != nil && r.IntN(2) == 0 {
		d.Fault = "non_numeric_id"
		d.Body = slices.Concat(d.Body[:loc[0]], []byte(`"id":"not-a-number"`), d.Body[loc[1]:])
	} else {
		d.Fault = "truncated_json"
		d.Body = d.Body[:len(d.Body)/2]
	}
	d.HMAC = sign(d.Body, secret)
}

// expectedFrom keeps, per order, the newest snapshot among the deliveries
// that were neither badly signed nor malformed: what the webhooks alone
// tell a receiver. Orders never validly delivered are left out.
func expectedFrom(ds []*delivery) expectedState {
	return newestStates(ds, func(d *delivery) bool {
		// Ordermill applies refunds/create directly, so a refund whose
		// snapshots all failed still shows: the order as it was after it.
		return !d.Bad && (d.snapshot || d.Topic == shopify.TopicRefundsCreate)
	})
}

// shopifyFrom keeps, per order, its newest state among all deliveries,
// failed ones included: the orders as Shopify holds them when the run ends,
// which reconciliation brings a receiver to whatever the webhooks missed.
func shopifyFrom(ds []*delivery) expectedState {
	return newestStates(ds, func(d *delivery) bool { return d.state != nil })
}

func newestStates(ds []*delivery, keep func(*delivery) bool) expectedState {
	newest := map[int64]*orderState{}
	for _, d := range ds {
		if !keep(d) {
			continue
		}
		if cur, ok := newest[d.OrderID]; !ok || d.state.updated.After(cur.updated) {
			newest[d.OrderID] = d.state
		}
	}
	e := expectedState{Orders: []simexpect.Order{}}
	for _, st := range newest {
		e.Orders = append(e.Orders, st.expected)
	}
	slices.SortFunc(e.Orders, func(a, b simexpect.Order) int { return cmp.Compare(a.ShopifyID, b.ShopifyID) })
	return e
}
