package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/internal/simexpect"
)

// The JSON types below follow Shopify's REST webhook payloads. Ids are int64
// and exceed 2^53 on purpose: a receiver decoding them as float64 corrupts them.

type customer struct {
	ID        int64  `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Phone     string `json:"phone"`
}

type lineItem struct {
	ID                  int64     `json:"id"`
	AdminGraphqlAPIID   string    `json:"admin_graphql_api_id"`
	VariantID           int64     `json:"variant_id"`
	SKU                 *string   `json:"sku"`
	Title               string    `json:"title"`         // the product's
	VariantTitle        *string   `json:"variant_title"` // null for a product without options
	Name                string    `json:"name"`          // "<title> - <variant title>"
	Quantity            int       `json:"quantity"`
	Price               string    `json:"price"`
	CurrentQuantity     int       `json:"current_quantity"`
	FulfillableQuantity int       `json:"fulfillable_quantity"`
	FulfillmentStatus   *string   `json:"fulfillment_status"`
	TaxLines            []taxLine `json:"tax_lines"`

	price     int64
	tax       int64 // per unit
	fulfilled int
	refunded  int
	removed   int // by order edits
}

// taxLine is a tax charged on a line item: price is the tax on the line's
// units, rate a fraction (0.08875).
type taxLine struct {
	Title string  `json:"title"`
	Price string  `json:"price"`
	Rate  float64 `json:"rate"`
}

type fulfillmentLine struct {
	ID        int64   `json:"id"`
	VariantID int64   `json:"variant_id"`
	SKU       *string `json:"sku"`
	Title     string  `json:"title"`
	Quantity  int     `json:"quantity"`
}

type fulfillment struct {
	ID                int64             `json:"id"`
	AdminGraphqlAPIID string            `json:"admin_graphql_api_id"`
	OrderID           int64             `json:"order_id"`
	Name              string            `json:"name"`
	Status            string            `json:"status"`
	CreatedAt         string            `json:"created_at"`
	TrackingCompany   string            `json:"tracking_company"`
	TrackingNumber    string            `json:"tracking_number"`
	TrackingURL       string            `json:"tracking_url,omitempty"`
	LineItems         []fulfillmentLine `json:"line_items"`

	created time.Time
}

type transaction struct {
	ID       int64  `json:"id"`
	OrderID  int64  `json:"order_id"`
	Kind     string `json:"kind"`
	Status   string `json:"status"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Gateway  string `json:"gateway"`
}

// refundLine is one line of a refund; subtotal and total_tax are the worth
// of its units and their tax, which the order's current_subtotal_price and
// current_total_tax stop counting. Shopify sends them as JSON numbers and,
// exactly, in the *_set MoneyBags.
type refundLine struct {
	ID          int64       `json:"id"`
	LineItemID  int64       `json:"line_item_id"`
	Quantity    int         `json:"quantity"`
	RestockType string      `json:"restock_type"`
	Subtotal    json.Number `json:"subtotal"`
	SubtotalSet moneySet    `json:"subtotal_set"`
	TotalTax    json.Number `json:"total_tax"`
	TotalTaxSet moneySet    `json:"total_tax_set"`
}

// moneySet is a REST body's MoneyBag (the *_set fields): the amount in the
// shop's currency and in the customer's, which are the same here.
type moneySet struct {
	ShopMoney        moneyAmount `json:"shop_money"`
	PresentmentMoney moneyAmount `json:"presentment_money"`
}

type moneyAmount struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currency_code"`
}

func (o *order) moneySet(minor int64) moneySet {
	m := moneyAmount{Amount: formatMoney(minor, o.cur.exp), CurrencyCode: o.Currency}
	return moneySet{ShopMoney: m, PresentmentMoney: m}
}

type refund struct {
	ID                int64         `json:"id"`
	AdminGraphqlAPIID string        `json:"admin_graphql_api_id"`
	OrderID           int64         `json:"order_id"`
	CreatedAt         string        `json:"created_at"`
	ProcessedAt       string        `json:"processed_at"`
	Note              *string       `json:"note"`
	Restock           bool          `json:"restock"`
	Transactions      []transaction `json:"transactions"`
	RefundLineItems   []refundLine  `json:"refund_line_items"`
}

type order struct {
	ID                int64         `json:"id"`
	AdminGraphqlAPIID string        `json:"admin_graphql_api_id"`
	Name              string        `json:"name"`
	OrderNumber       int           `json:"order_number"`
	Email             string        `json:"email"`
	Currency          string        `json:"currency"`
	CreatedAt         string        `json:"created_at"`
	UpdatedAt         string        `json:"updated_at"`
	CancelledAt       *string       `json:"cancelled_at"`
	CancelReason      *string       `json:"cancel_reason"`
	FinancialStatus   string        `json:"financial_status"`
	FulfillmentStatus *string       `json:"fulfillment_status"`
	Note              *string       `json:"note"`
	Tags              string        `json:"tags"`
	Test              bool          `json:"test"`
	SubtotalPrice     string        `json:"subtotal_price"`
	TotalTax          string        `json:"total_tax"`
	TotalDiscounts    string        `json:"total_discounts"`
	TotalShipping     moneySet      `json:"total_shipping_price_set"`
	TotalPrice        string        `json:"total_price"`
	CurrentSubtotal   string        `json:"current_subtotal_price"`
	CurrentTax        string        `json:"current_total_tax"`
	CurrentDiscounts  string        `json:"current_total_discounts"`
	CurrentShipping   moneySet      `json:"current_shipping_price_set"`
	CurrentTotalPrice string        `json:"current_total_price"`
	Customer          customer      `json:"customer"`
	LineItems         []lineItem    `json:"line_items"`
	Fulfillments      []fulfillment `json:"fulfillments"`
	Refunds           []refund      `json:"refunds"`

	cur      currency
	total    int64
	refunded int64
	// returned and returnedTax are the worth and tax of the line items
	// refunds took back, which current_subtotal_price and current_total_tax
	// no longer count; refunded is money.
	returned, returnedTax int64
	// listedRefunds is what the refunds[] array holds; refunded also counts
	// refunds a snapshot only states.
	listedRefunds int64
	// cases names what this order's life exercises, for counting results per case.
	cases     []string
	deleted   bool
	lifecycle bool // plays the lifecycle scenario's extra topics (scenarios_lifecycle.go)
}

type currency struct {
	code string
	exp  int
	// loc is the shop timezone that usually goes with the currency, so
	// timestamps carry varied offsets as Shopify's do.
	loc *time.Location
	// taxRate is the sales tax added to prices, in millionths (88750 is
	// 8.875%); the shops selling in the other currencies charge none.
	taxRate int64
}

var currencies = []currency{
	{"USD", 2, time.FixedZone("EST", -5*3600), 88750},
	{"EUR", 2, time.FixedZone("CET", 3600), 0},
	{"JPY", 0, time.FixedZone("JST", 9*3600), 0},
}

// unitTax is the tax on one unit at price, rounded half up.
func (c currency) unitTax(price int64) int64 {
	return (price*c.taxRate + 500_000) / 1_000_000
}

// formatMoney renders minor units as Shopify's decimal string, honouring
// zero-decimal currencies ("1500" yen, "15.00" dollars).
func formatMoney(minor int64, exp int) string {
	if exp == 0 {
		return strconv.FormatInt(minor, 10)
	}
	p := int64(1)
	for range exp {
		p *= 10
	}
	return fmt.Sprintf("%d.%0*d", minor/p, exp, minor%p)
}

type product struct {
	title           string
	variant         string // empty: the product has no options, its one variant is "Default Title"
	sku             string // empty: Shopify sends sku null
	variantID       int64
	inventoryItemID int64
	cents           int64
}

// catalog is shared by every run so stock keyed by SKU or variant adds up
// across orders.
var catalog = []product{
	{"Merino Beanie", "Charcoal", "BEAN-CHR", 44020394000101, 46120394000101, 2900},
	{"Canvas Tote", "Natural", "TOTE-NAT", 44020394000102, 46120394000102, 1800},
	{"Enamel Mug", "350 ml", "MUG-350", 44020394000103, 46120394000103, 1450},
	{"Gift Card", "", "", 44020394000104, 46120394000104, 2500},
	{"Wool Socks", "3 pack", "SOCK-3PK", 44020394000105, 46120394000105, 2199},
	{"Leather Notebook", "A5", "NOTE-A5", 44020394000106, 46120394000106, 3400},
	{"Handmade Soap (sample)", "", "", 44020394000107, 46120394000107, 650},
	{"Ceramic Planter", "", "PLNT-CER", 44020394000108, 46120394000108, 4100},
}

// lineItem is q units of the product on line id of an order in cur, named
// as Shopify names line items: title is the product's, variant_title is
// null for a product without options, name joins the two.
func (p product) lineItem(id int64, q int, cur currency) lineItem {
	li := lineItem{
		ID: id, AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/LineItem/%d", id), VariantID: p.variantID,
		SKU: nullable(p.sku), Title: p.title, Name: p.title, Quantity: q, CurrentQuantity: q, FulfillableQuantity: q,
		price: p.price(cur), TaxLines: []taxLine{},
	}
	li.tax = cur.unitTax(li.price)
	if p.variant != "" {
		li.VariantTitle, li.Name = &p.variant, p.title+" - "+p.variant
	}
	li.Price = formatMoney(li.price, cur.exp)
	return li
}

// variantTitle is the title of the product's one variant in products/*
// bodies.
func (p product) variantTitle() string {
	if p.variant == "" {
		return "Default Title"
	}
	return p.variant
}

func (p product) price(c currency) int64 {
	switch c.code {
	case "EUR":
		return p.cents * 92 / 100
	case "JPY":
		return (p.cents*150/100 + 5) / 10 * 10
	}
	return p.cents
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// generator draws every id, name and choice from one seeded source so that
// a seed reproduces a run byte for byte.
type generator struct {
	rng       *rand.Rand
	shop      string
	nextID    int64
	number    int
	customers []customer
	// owned lists each customer's order ids for compliance payloads.
	owned map[int64][]int64
	// base anchors the scenario's timestamps.
	base time.Time
}

func newGenerator(seed int64, shop string) *generator {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5107))
	return &generator{
		rng:    rng,
		shop:   shop,
		nextID: 5_000_000_000_000_000_000 + rng.Int64N(1<<50)*1000,
		number: 1000,
		base:   scenarioBase,
		owned:  map[int64][]int64{},
	}
}

func (g *generator) id() int64 {
	g.nextID += 1 + g.rng.Int64N(997)
	return g.nextID
}

func (g *generator) uuid() string {
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[:8], g.rng.Uint64())
	binary.BigEndian.PutUint64(u[8:], g.rng.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

var firstNames = []string{"Ada", "Kenji", "Lena", "Omar", "Priya", "Mateo", "Chloé", "Sven", "Yuki", "Grace"}
var lastNames = []string{"Lovelace", "Tanaka", "Fischer", "Haddad", "Raman", "García", "Dubois", "Larsen", "Sato", "Hopper"}

// customer returns a returning customer now and then, as real shops have.
func (g *generator) customer() customer {
	if len(g.customers) > 0 && g.rng.IntN(100) < 30 {
		return g.customers[g.rng.IntN(len(g.customers))]
	}
	first, last := firstNames[g.rng.IntN(len(firstNames))], lastNames[g.rng.IntN(len(lastNames))]
	id := g.id()
	c := customer{
		ID:        id,
		FirstName: first,
		LastName:  last,
		Email:     fmt.Sprintf("customer%d@example.test", id%1_000_000),
		Phone:     fmt.Sprintf("+1555%07d", id%10_000_000),
	}
	g.customers = append(g.customers, c)
	return c
}

type step int

const (
	stepCreate step = iota
	stepNote
	stepPay
	stepFulfilPartial
	stepFulfilRest
	stepRefundPartial
	stepRefundRest
	stepCancel
)

// orderLife is an order plus the merchant actions still ahead of it.
type orderLife struct {
	o     *order
	steps []step
	next  int
}

func (l *orderLife) done() bool { return l.next >= len(l.steps) }

// action is one merchant action: the webhooks it triggers share an event id.
type action struct {
	at      time.Time
	eventID string
	orderID int64
	msgs    []message
	state   *orderState
}

type message struct {
	topic string
	body  []byte
	// snapshot marks a full order body, where the newest updated_at wins.
	snapshot bool
}

// newOrder drafts an order and decides its life up front; advance plays the
// steps one by one.
func (g *generator) newOrder() *orderLife {
	r := g.rng
	cur := currencies[0]
	switch x := r.IntN(100); {
	case x >= 85:
		cur = currencies[2]
	case x >= 50:
		cur = currencies[1]
	}
	g.number++
	id := g.id()
	o := &order{
		ID:                id,
		AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/Order/%d", id),
		Name:              fmt.Sprintf("#%d", g.number),
		OrderNumber:       g.number,
		Currency:          cur.code,
		FinancialStatus:   "paid",
		Customer:          g.customer(),
		LineItems:         []lineItem{},
		Fulfillments:      []fulfillment{},
		Refunds:           []refund{},
		cur:               cur,
	}
	o.Email = o.Customer.Email
	g.owned[o.Customer.ID] = append(g.owned[o.Customer.ID], id)
	if r.IntN(100) < 35 {
		o.FinancialStatus = "pending"
	}
	units := 0
	for _, pi := range r.Perm(len(catalog))[:1+r.IntN(3)] {
		p := catalog[pi]
		lid := g.id()
		q := 1 + r.IntN(3)
		units += q
		o.LineItems = append(o.LineItems, p.lineItem(lid, q, cur))
	}
	o.setTotals()
	return &orderLife{o: o, steps: g.planSteps(o.FinancialStatus == "pending", units)}
}

func (g *generator) planSteps(pending bool, units int) []step {
	r := g.rng
	steps := []step{stepCreate}
	if r.IntN(100) < 25 {
		steps = append(steps, stepNote)
	}
	if r.IntN(100) < 12 {
		return append(steps, stepCancel)
	}
	if pending {
		steps = append(steps, stepPay)
	}
	switch f := r.IntN(100); {
	case f < 30 && units > 1:
		steps = append(steps, stepFulfilPartial, stepFulfilRest)
	case f < 40 && units > 1:
		steps = append(steps, stepFulfilPartial)
	case f < 90:
		steps = append(steps, stepFulfilRest)
	}
	switch x := r.IntN(100); {
	case x < 12 && units > 1:
		steps = append(steps, stepRefundPartial)
	case x < 18 && units > 1:
		steps = append(steps, stepRefundPartial, stepRefundRest)
	case x < 24:
		steps = append(steps, stepRefundRest)
	}
	return steps
}

// advance plays the next step of l at time at and returns the webhooks
// Shopify sends for it.
func (g *generator) advance(l *orderLife, at time.Time) action {
	o := l.o
	s := l.steps[l.next]
	l.next++
	ts := at.In(o.cur.loc).Format(time.RFC3339)
	o.UpdatedAt = ts
	var topics []string
	var rf *refund
	bodies := map[string][]byte{} // topics whose body is not the order snapshot
	switch s {
	case stepCreate:
		o.CreatedAt = ts
		topics = []string{"orders/create"}
		if o.FinancialStatus == "paid" {
			topics = append(topics, "orders/paid")
		}
	case stepNote:
		o.Note = nullable("Please gift wrap")
		o.Tags = "gift"
		topics = []string{"orders/updated"}
	case stepPay:
		o.FinancialStatus = "paid"
		topics = []string{"orders/paid", "orders/updated"}
	case stepFulfilPartial:
		g.fulfil(o, at, true)
		topics = []string{"orders/updated"}
	case stepFulfilRest:
		g.fulfil(o, at, false)
		topics = []string{"orders/fulfilled", "orders/updated"}
	case stepRefundPartial, stepRefundRest:
		rf = g.refund(o, at, s == stepRefundPartial, "return")
		topics = []string{"refunds/create", "orders/updated"}
	case stepCancel:
		o.CancelledAt = &ts
		o.CancelReason = nullable("customer")
		topics = []string{"orders/cancelled"}
		if o.FinancialStatus == "pending" {
			o.FinancialStatus = "voided"
		} else {
			rf = g.refund(o, at, false, "cancel")
			topics = append(topics, "refunds/create")
		}
		topics = append(topics, "orders/updated")
	default:
		topics = g.advanceLifecycle(o, s, at, bodies)
	}
	if o.lifecycle {
		topics = lifecycleTopics(o, s, topics, bodies)
	}
	if rf != nil {
		bodies["refunds/create"] = mustJSON(rf)
	}
	o.setTotals()
	snapshot := mustJSON(o)
	a := action{at: at, eventID: g.uuid(), orderID: o.ID, state: stateOf(o, at)}
	for _, t := range topics {
		if body, ok := bodies[t]; ok {
			a.msgs = append(a.msgs, message{topic: t, body: body, snapshot: t == "orders/delete"})
			continue
		}
		a.msgs = append(a.msgs, message{topic: t, body: snapshot, snapshot: true})
	}
	return a
}

// fulfil ships either the first line (or one unit of a single line) or
// everything still unshipped.
func (g *generator) fulfil(o *order, at time.Time, partial bool) {
	units := map[int64]int{}
	for i, li := range o.LineItems {
		q := li.Quantity - li.removed - li.fulfilled
		if partial {
			if len(o.LineItems) == 1 {
				q = 1
			} else if i > 0 {
				q = 0
			}
		}
		units[li.ID] = q
	}
	g.ship(o, at, units, tracking{})
}

// tracking is what a fulfilment's carrier told; empty, the scenarios ship
// with UPS under a number made from the fulfilment's id.
type tracking struct {
	company, number, url string
}

// ship creates a fulfilment of units (line item id → quantity) and returns
// it, nil when there was nothing to ship.
func (g *generator) ship(o *order, at time.Time, units map[int64]int, t tracking) *fulfillment {
	id := g.id()
	if t == (tracking{}) {
		t = tracking{company: "UPS", number: fmt.Sprintf("1Z%016d", id%10_000_000_000_000_000)}
	}
	f := fulfillment{
		ID:                id,
		AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/Fulfillment/%d", id),
		OrderID:           o.ID,
		Name:              fmt.Sprintf("%s.%d", o.Name, len(o.Fulfillments)+1),
		Status:            "success",
		CreatedAt:         at.In(o.cur.loc).Format(time.RFC3339),
		TrackingCompany:   t.company,
		TrackingNumber:    t.number,
		TrackingURL:       t.url,
		created:           at,
	}
	for i := range o.LineItems {
		li := &o.LineItems[i]
		q := units[li.ID]
		if q == 0 {
			continue
		}
		li.fulfilled += q
		li.FulfillableQuantity = li.Quantity - li.removed - li.fulfilled
		li.FulfillmentStatus = nullable("partial")
		if li.FulfillableQuantity == 0 {
			li.FulfillmentStatus = nullable("fulfilled")
		}
		f.LineItems = append(f.LineItems, fulfillmentLine{ID: li.ID, VariantID: li.VariantID, SKU: li.SKU, Title: li.Title, Quantity: q})
	}
	o.FulfillmentStatus = nullable("fulfilled")
	for _, li := range o.LineItems {
		if li.FulfillableQuantity > 0 {
			o.FulfillmentStatus = nullable("partial")
		}
	}
	if len(f.LineItems) == 0 { // edits may have removed what was left to ship
		return nil
	}
	o.Fulfillments = append(o.Fulfillments, f)
	return &o.Fulfillments[len(o.Fulfillments)-1]
}

// refund returns one unit of the first refundable line, or everything not
// yet refunded, and the money for it.
func (g *generator) refund(o *order, at time.Time, partial bool, restock string) *refund {
	var lines []refundUnits
	var amount int64
	for _, li := range o.LineItems {
		q := li.Quantity - li.removed - li.refunded
		if partial {
			q = min(q, 1)
		}
		if q == 0 {
			continue
		}
		lines = append(lines, refundUnits{lineID: li.ID, quantity: q, restockType: restock})
		amount += (li.price + li.tax) * int64(q)
		if partial {
			break
		}
	}
	if !partial {
		// Whatever is left, so rounding never leaves a cent behind.
		amount = o.total - o.refunded
	}
	rf := g.refundLines(o, at, lines, nil)
	g.refundMoney(o, rf, amount, "shopify_payments")
	return rf
}

// refundUnits is one line of a refund as asked for.
type refundUnits struct {
	lineID      int64
	quantity    int
	restockType string // REST's restock_type: no_restock, cancel, return, legacy_restock
}

// refundLines creates a refund of the given units, without money: a
// refund's transactions come from refundMoney.
func (g *generator) refundLines(o *order, at time.Time, lines []refundUnits, note *string) *refund {
	ts := at.In(o.cur.loc).Format(time.RFC3339)
	id := g.id()
	rf := refund{
		ID:                id,
		AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/Refund/%d", id),
		OrderID:           o.ID,
		CreatedAt:         ts,
		ProcessedAt:       ts,
		Note:              note,
		RefundLineItems:   []refundLine{},
		Transactions:      []transaction{},
	}
	for _, u := range lines {
		i := slices.IndexFunc(o.LineItems, func(li lineItem) bool { return li.ID == u.lineID })
		li := &o.LineItems[i]
		li.refunded += u.quantity
		li.CurrentQuantity = li.Quantity - li.removed - li.refunded
		rf.Restock = rf.Restock || u.restockType != "no_restock"
		worth, tax := li.price*int64(u.quantity), li.tax*int64(u.quantity)
		o.returned += worth
		o.returnedTax += tax
		rf.RefundLineItems = append(rf.RefundLineItems, refundLine{
			ID: g.id(), LineItemID: li.ID, Quantity: u.quantity, RestockType: u.restockType,
			Subtotal: json.Number(formatMoney(worth, o.cur.exp)), SubtotalSet: o.moneySet(worth),
			TotalTax: json.Number(formatMoney(tax, o.cur.exp)), TotalTaxSet: o.moneySet(tax),
		})
	}
	o.Refunds = append(o.Refunds, rf)
	return &o.Refunds[len(o.Refunds)-1]
}

// refundMoney pays amount back on rf and moves the order's financial status.
func (g *generator) refundMoney(o *order, rf *refund, amount int64, gateway string) {
	o.refunded += amount
	o.listedRefunds += amount
	rf.Transactions = append(rf.Transactions, transaction{
		ID: g.id(), OrderID: o.ID, Kind: "refund", Status: "success",
		Amount: formatMoney(amount, o.cur.exp), Currency: o.Currency, Gateway: gateway,
	})
	o.FinancialStatus = "partially_refunded"
	if o.refunded >= o.total {
		o.FinancialStatus = "refunded"
	}
}

// orderState is what a test may expect of an order after one action, and
// what the Admin API answers about it.
type orderState struct {
	updated  time.Time
	expected simexpect.Order
	// fulfillments shares elements with the live order, which is safe
	// because a fulfillment is never changed once created.
	fulfillments []fulfillment
	// snapshot is the order as its webhook carried it, what the Admin API's
	// order queries answer from.
	snapshot []byte
}

func stateOf(o *order, at time.Time) *orderState {
	e := simexpect.Order{
		ShopifyID:         o.ID,
		Name:              o.Name,
		Currency:          o.Currency,
		Total:             o.total,
		FinancialStatus:   o.FinancialStatus,
		FulfillmentStatus: o.FulfillmentStatus,
		Cancelled:         o.CancelledAt != nil,
		Refunded:          o.listedRefunds,
		CurrentTotal:      o.total - o.refunded,
		Money:             moneyOf(o),
		Test:              o.Test,
		Deleted:           o.deleted,
		Cases:             append([]string{}, o.cases...),
	}
	for _, li := range o.LineItems {
		e.Lines = append(e.Lines, simexpect.Line{ID: li.ID, SKU: li.SKU, VariantID: li.VariantID, Quantity: li.Quantity,
			CurrentQuantity: li.CurrentQuantity, FulfilledQuantity: li.fulfilled, Price: li.price})
	}
	return &orderState{updated: at, expected: e, fulfillments: slices.Clone(o.Fulfillments), snapshot: mustJSON(o)}
}

func moneyOf(o *order) simexpect.Money {
	exp := o.cur.exp
	m := simexpect.Money{
		Subtotal: parseMinor(o.SubtotalPrice, exp), CurrentSubtotal: parseMinor(o.CurrentSubtotal, exp),
		Tax: parseMinor(o.TotalTax, exp), CurrentTax: parseMinor(o.CurrentTax, exp),
		Discounts: parseMinor(o.TotalDiscounts, exp), CurrentDiscounts: parseMinor(o.CurrentDiscounts, exp),
		Shipping: parseMinor(o.TotalShipping.ShopMoney.Amount, exp), CurrentShipping: parseMinor(o.CurrentShipping.ShopMoney.Amount, exp),
	}
	if slices.Contains([]string{"paid", "partially_refunded", "refunded"}, o.FinancialStatus) {
		m.Paid = parseMinor(o.CurrentTotalPrice, exp) + o.listedRefunds
	}
	return m
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only fixed struct types are marshalled here.
		panic(err)
	}
	return b
}
