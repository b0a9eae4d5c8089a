package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// ShopifyOrder is a Shopify order snapshot as the domain models it: the
// Shopify adapter maps orders/* webhook bodies (and Admin API orders) to it.
// Each is a full snapshot of the order; the latest UpdatedAt wins. Ids are
// int64 because Shopify ids exceed 2^53 and would lose digits as floats.
// The Current* amounts reflect edits and refunds; the others are as placed.
type ShopifyOrder struct {
	ID                    int64
	Name                  string
	Email                 string
	Currency              string
	CreatedAt             time.Time
	UpdatedAt             time.Time
	CancelledAt           time.Time // zero unless cancelled
	CancelReason          string
	FinancialStatus       string // "" when Shopify sent null
	FulfillmentStatus     string // "" when Shopify sent null (nothing shipped)
	Tags                  []string
	Note                  string
	Test                  bool
	TotalPrice            Money
	SubtotalPrice         Money
	TotalDiscounts        Money
	TotalTax              Money
	TotalShipping         Money
	CurrentTotalPrice     Money
	CurrentSubtotalPrice  Money
	CurrentTotalDiscounts Money
	CurrentTotalTax       Money
	CurrentShipping       Money
	TotalOutstanding      *Money // nil when the body does not say
	Customer              ShopifyCustomer
	LineItems             []ShopifyLineItem
	Fulfillments          []ShopifyFulfillment
	Refunds               []ShopifyRefund
}

// ShopifyCustomer is the customer of an order; zero when the order has none.
type ShopifyCustomer struct {
	ID        int64
	FirstName string
	LastName  string
	Email     string
}

// ShopifyLineItem is one line of a Shopify order. SKU is empty when Shopify
// sends null, and VariantID is zero for custom items.
// Quantity is as placed; CurrentQuantity is after edits and removals (0 for
// a removed line). FulfillmentStatus is the line's own ("" when null).
type ShopifyLineItem struct {
	ID                int64
	VariantID         int64
	SKU               string
	Title             string
	Quantity          int
	CurrentQuantity   int
	Price             Money
	FulfillmentStatus string
}

// ShopifyFulfillment is one shipment of a Shopify order, from an order
// snapshot's fulfillments or a fulfillments/* webhook. OrderID is set only by
// the latter. UpdatedAt is CreatedAt when Shopify does not say.
type ShopifyFulfillment struct {
	ID              int64
	OrderID         int64
	Status          string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	TrackingCompany string
	TrackingNumbers []string
	TrackingURLs    []string
	LineItems       []ShopifyFulfillmentLine
}

// ShopifyFulfillmentLine is the number of units of a line item in a fulfillment.
type ShopifyFulfillmentLine struct {
	ID       int64
	Quantity int
}

// ShopifyRefund is one refund of a Shopify order.
type ShopifyRefund struct {
	ID              int64
	CreatedAt       time.Time
	Note            string // the merchant's reason
	Transactions    []ShopifyTransaction
	RefundLineItems []ShopifyRefundLine
}

// ShopifyTransaction is a money movement of a refund.
type ShopifyTransaction struct {
	Amount Money
	Kind   string
	Status string
}

// ShopifyRefundLine is the number of units of a line item in a refund.
type ShopifyRefundLine struct {
	LineItemID int64
	Quantity   int
}

// jsonNumber keeps the literal text of a JSON value meant as a number: the
// digits of a number, or the content of a string, since Shopify sends ids and
// prices either way across API versions. Never going through float64 keeps ids
// above 2^53 exact, and parsing later lets errors name the field.
type jsonNumber string

// UnmarshalJSON implements json.Unmarshaler; null leaves the number empty.
func (n *jsonNumber) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*n = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*n = jsonNumber(s)
	default:
		*n = jsonNumber(b)
	}
	return nil
}

// The raw* types mirror the JSON; ids, quantities and prices are jsonNumbers.
type rawShopifyOrder struct {
	ID                jsonNumber           `json:"id"`
	Name              string               `json:"name"`
	Email             string               `json:"email"`
	Currency          string               `json:"currency"`
	CreatedAt         string               `json:"created_at"`
	UpdatedAt         string               `json:"updated_at"`
	CancelledAt       string               `json:"cancelled_at"`
	CancelReason      string               `json:"cancel_reason"`
	FinancialStatus   string               `json:"financial_status"`
	FulfillmentStatus string               `json:"fulfillment_status"`
	Tags              string               `json:"tags"`
	Note              string               `json:"note"`
	Test              bool                 `json:"test"`
	TotalPrice        jsonNumber           `json:"total_price"`
	SubtotalPrice     jsonNumber           `json:"subtotal_price"`
	TotalDiscounts    jsonNumber           `json:"total_discounts"`
	TotalTax          jsonNumber           `json:"total_tax"`
	TotalShipping     *rawPriceSet         `json:"total_shipping_price_set"`
	CurrentTotal      jsonNumber           `json:"current_total_price"`
	CurrentSubtotal   jsonNumber           `json:"current_subtotal_price"`
	CurrentDiscounts  jsonNumber           `json:"current_total_discounts"`
	CurrentTax        jsonNumber           `json:"current_total_tax"`
	CurrentShipping   *rawPriceSet         `json:"current_shipping_price_set"`
	TotalOutstanding  jsonNumber           `json:"total_outstanding"`
	Customer          *rawShopifyCustomer  `json:"customer"`
	LineItems         []rawShopifyLineItem `json:"line_items"`
	Fulfillments      []rawShopifyFulfil   `json:"fulfillments"`
	Refunds           []rawShopifyRefund   `json:"refunds"`
}

// rawPriceSet is Shopify's MoneyBag: the amount in the shop's currency and
// in the customer's; Ordermill keeps the shop's.
type rawPriceSet struct {
	ShopMoney struct {
		Amount jsonNumber `json:"amount"`
	} `json:"shop_money"`
}

type rawShopifyCustomer struct {
	ID        jsonNumber `json:"id"`
	FirstName string     `json:"first_name"`
	LastName  string     `json:"last_name"`
	Email     string     `json:"email"`
}

type rawShopifyLineItem struct {
	ID        jsonNumber `json:"id"`
	VariantID jsonNumber `json:"variant_id"`
	SKU       string     `json:"sku"`
	Title     string     `json:"title"`
	Quantity  jsonNumber `json:"quantity"`
	Price     jsonNumber `json:"price"`
	// CurrentQuantity is absent before API version 2023-01; then it is Quantity.
	CurrentQuantity   jsonNumber `json:"current_quantity"`
	FulfillmentStatus string     `json:"fulfillment_status"`
}

type rawShopifyFulfil struct {
	ID              jsonNumber `json:"id"`
	OrderID         jsonNumber `json:"order_id"`
	Status          string     `json:"status"`
	CreatedAt       string     `json:"created_at"`
	UpdatedAt       string     `json:"updated_at"`
	TrackingCompany string     `json:"tracking_company"`
	TrackingNumbers []string   `json:"tracking_numbers"`
	TrackingURLs    []string   `json:"tracking_urls"`
	LineItems       []struct {
		ID       jsonNumber `json:"id"`
		Quantity jsonNumber `json:"quantity"`
	} `json:"line_items"`
}

type rawShopifyRefund struct {
	ID           jsonNumber `json:"id"`
	CreatedAt    string     `json:"created_at"`
	Note         string     `json:"note"`
	Transactions []struct {
		Amount jsonNumber `json:"amount"`
		Kind   string     `json:"kind"`
		Status string     `json:"status"`
	} `json:"transactions"`
	RefundLineItems []struct {
		LineItemID jsonNumber `json:"line_item_id"`
		Quantity   jsonNumber `json:"quantity"`
	} `json:"refund_line_items"`
}

// DecodeShopifyOrder decodes and validates an orders/* webhook body. Unknown
// fields are ignored (Shopify adds fields); every problem found is returned in
// one *ValidationError naming the JSON field.
func DecodeShopifyOrder(body []byte) (ShopifyOrder, error) {
	var raw rawShopifyOrder
	if err := decodeJSON(body, &raw); err != nil {
		return ShopifyOrder{}, err
	}
	var f fieldErrors
	p := shopifyParser{f: &f, currency: raw.Currency}
	s := ShopifyOrder{
		ID:                p.id("id", raw.ID),
		Name:              raw.Name,
		Email:             strings.TrimSpace(raw.Email),
		Currency:          raw.Currency,
		CreatedAt:         p.time("created_at", raw.CreatedAt),
		UpdatedAt:         p.time("updated_at", raw.UpdatedAt),
		CancelledAt:       p.time("cancelled_at", raw.CancelledAt),
		CancelReason:      raw.CancelReason,
		FinancialStatus:   raw.FinancialStatus,
		FulfillmentStatus: raw.FulfillmentStatus,
		Tags:              splitTags(raw.Tags),
		Note:              raw.Note,
		Test:              raw.Test,
		TotalPrice:        p.money("total_price", raw.TotalPrice),
		SubtotalPrice:     p.money("subtotal_price", raw.SubtotalPrice),
		TotalDiscounts:    p.optionalMoney("total_discounts", raw.TotalDiscounts),
		TotalTax:          p.optionalMoney("total_tax", raw.TotalTax),
		TotalShipping:     p.priceSet("total_shipping_price_set", raw.TotalShipping),
	}
	// Bodies of API versions before the current_* fields: the order as
	// placed, less its refunds (set once the refunds are decoded).
	s.CurrentTotalPrice = p.moneyOr("current_total_price", raw.CurrentTotal, s.TotalPrice)
	s.CurrentSubtotalPrice = p.moneyOr("current_subtotal_price", raw.CurrentSubtotal, s.SubtotalPrice)
	s.CurrentTotalDiscounts = p.moneyOr("current_total_discounts", raw.CurrentDiscounts, s.TotalDiscounts)
	s.CurrentTotalTax = p.moneyOr("current_total_tax", raw.CurrentTax, s.TotalTax)
	s.CurrentShipping = s.TotalShipping
	if raw.CurrentShipping != nil {
		s.CurrentShipping = p.priceSet("current_shipping_price_set", raw.CurrentShipping)
	}
	if raw.TotalOutstanding != "" {
		m := p.money("total_outstanding", raw.TotalOutstanding)
		s.TotalOutstanding = &m
	}
	if c := raw.Customer; c != nil {
		s.Customer = ShopifyCustomer{ID: p.id("customer.id", c.ID), FirstName: c.FirstName, LastName: c.LastName, Email: strings.TrimSpace(c.Email)}
	}
	for i, li := range raw.LineItems {
		field := "line_items[" + strconv.Itoa(i) + "]"
		line := ShopifyLineItem{
			ID:                p.id(field+".id", li.ID),
			VariantID:         p.id(field+".variant_id", li.VariantID),
			SKU:               strings.TrimSpace(li.SKU),
			Title:             li.Title,
			Quantity:          p.quantity(field+".quantity", li.Quantity),
			Price:             p.money(field+".price", li.Price),
			FulfillmentStatus: li.FulfillmentStatus,
		}
		line.CurrentQuantity = line.Quantity
		if li.CurrentQuantity != "" {
			line.CurrentQuantity = p.quantity(field+".current_quantity", li.CurrentQuantity)
		}
		s.LineItems = append(s.LineItems, line)
	}
	for i, fl := range raw.Fulfillments {
		field := "fulfillments[" + strconv.Itoa(i) + "]"
		s.Fulfillments = append(s.Fulfillments, p.fulfillment(field+".", fl))
	}
	for i, r := range raw.Refunds {
		field := "refunds[" + strconv.Itoa(i) + "]"
		sr := ShopifyRefund{ID: p.id(field+".id", r.ID), CreatedAt: p.time(field+".created_at", r.CreatedAt), Note: r.Note}
		for j, t := range r.Transactions {
			tf := field + ".transactions[" + strconv.Itoa(j) + "]"
			sr.Transactions = append(sr.Transactions, ShopifyTransaction{Amount: p.money(tf+".amount", t.Amount), Kind: t.Kind, Status: t.Status})
		}
		for j, li := range r.RefundLineItems {
			lf := field + ".refund_line_items[" + strconv.Itoa(j) + "]"
			sr.RefundLineItems = append(sr.RefundLineItems, ShopifyRefundLine{LineItemID: p.id(lf+".line_item_id", li.LineItemID), Quantity: p.quantity(lf+".quantity", li.Quantity)})
		}
		s.Refunds = append(s.Refunds, sr)
	}
	if raw.CurrentTotal == "" {
		for _, r := range s.Refunds {
			s.CurrentTotalPrice.Amount = max(0, s.CurrentTotalPrice.Amount-r.Amount())
		}
	}
	if err := f.err(); err != nil {
		return ShopifyOrder{}, err
	}
	if err := s.Validate(); err != nil {
		return ShopifyOrder{}, err
	}
	return s, nil
}

// fulfillment converts a fulfillment; prefix names its place in the body.
func (p shopifyParser) fulfillment(prefix string, fl rawShopifyFulfil) ShopifyFulfillment {
	sf := ShopifyFulfillment{ID: p.id(prefix+"id", fl.ID), OrderID: p.id(prefix+"order_id", fl.OrderID), Status: fl.Status,
		CreatedAt: p.time(prefix+"created_at", fl.CreatedAt), UpdatedAt: p.time(prefix+"updated_at", fl.UpdatedAt),
		TrackingCompany: fl.TrackingCompany, TrackingNumbers: fl.TrackingNumbers, TrackingURLs: fl.TrackingURLs}
	if sf.UpdatedAt.IsZero() {
		sf.UpdatedAt = sf.CreatedAt
	}
	for j, li := range fl.LineItems {
		lf := prefix + "line_items[" + strconv.Itoa(j) + "]"
		sf.LineItems = append(sf.LineItems, ShopifyFulfillmentLine{ID: p.id(lf+".id", li.ID), Quantity: p.quantity(lf+".quantity", li.Quantity)})
	}
	return sf
}

// splitTags splits Shopify's comma-separated tags.
func splitTags(tags string) []string {
	var out []string
	for _, t := range strings.Split(tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// decodeJSON decodes one JSON object and reports syntax and type errors as
// a ValidationError, naming the field when the decoder knows it.
func decodeJSON(body []byte, v any) error {
	if err := CheckWebhookBody(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return invalid(typeErr.Field, "must be a JSON %s, not %s", typeErr.Type.Kind(), typeErr.Value)
		}
		return invalid("body", "is not a valid JSON object: %v", err)
	}
	if dec.More() {
		return invalid("body", "has data after the JSON object")
	}
	return nil
}

// CheckWebhookBody refuses a webhook body that would not be processed as
// sent (see CheckJSON) with a ValidationError, which records the webhook as
// failed. Malformed JSON is left to the decoders, which name the field.
// The reason names no key: it is stored in clear, the body sealed.
func CheckWebhookBody(body []byte) error {
	if err := CheckJSON(body); err != nil {
		if bad := (*JSONError)(nil); errors.As(err, &bad) && bad.Problem != JSONSyntax {
			return invalid("body", "has %v", bad)
		}
	}
	return nil
}

// shopifyParser converts raw fields, collecting errors instead of stopping at the first.
type shopifyParser struct {
	f        *fieldErrors
	currency string
}

// id parses an id; a missing or null id is 0, which Validate rejects where required.
func (p shopifyParser) id(field string, n jsonNumber) int64 {
	if n == "" {
		return 0
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || v < 0 {
		p.f.add(field, "must be a positive 64-bit integer, got %s", n)
		return 0
	}
	return v
}

func (p shopifyParser) quantity(field string, n jsonNumber) int {
	v, err := strconv.ParseInt(string(n), 10, 32)
	if err != nil {
		p.f.add(field, "must be an integer, got %q", string(n))
		return 0
	}
	return int(v)
}

func (p shopifyParser) money(field string, n jsonNumber) Money {
	if n == "" {
		p.f.add(field, "is required")
		return Money{}
	}
	if !IsCurrencyCode(p.currency) {
		return Money{} // reported once, by Validate, as the currency field
	}
	m, err := ParseMoney(string(n), p.currency)
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			p.f.add(field, "%s", ve.Fields[0].Message)
		}
		return Money{}
	}
	return m
}

// optionalMoney is money that Shopify may leave out: then zero.
func (p shopifyParser) optionalMoney(field string, n jsonNumber) Money {
	return p.moneyOr(field, n, Money{Currency: p.currency})
}

// moneyOr is money that Shopify may leave out: then fallback.
func (p shopifyParser) moneyOr(field string, n jsonNumber, fallback Money) Money {
	if n == "" {
		return fallback
	}
	return p.money(field, n)
}

// priceSet is the shop-currency amount of a price set; zero when absent.
func (p shopifyParser) priceSet(field string, set *rawPriceSet) Money {
	if set == nil {
		return Money{Currency: p.currency}
	}
	return p.optionalMoney(field+".shop_money.amount", set.ShopMoney.Amount)
}

// time parses an RFC 3339 timestamp with offset; a missing or null one is zero.
func (p shopifyParser) time(field, s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		p.f.add(field, "must be an RFC 3339 timestamp, got %q", s)
		return time.Time{}
	}
	// Events store times as JSON, which holds years 0–9999 in UTC only;
	// no Shopify order predates 1970.
	if y := t.UTC().Year(); y < 1970 || y > 9999 {
		p.f.add(field, "must be a time between 1970 and 9999, got %q", s)
		return time.Time{}
	}
	return t
}

// Validate checks what Ordermill relies on: ids present and unique, amounts
// in the order currency, quantities positive, and fulfilments and refunds
// naming lines of this order.
func (s ShopifyOrder) Validate() error {
	var f fieldErrors
	if s.ID <= 0 {
		f.add("id", "is required")
	}
	if strings.TrimSpace(s.Name) == "" {
		f.add("name", "is required")
	}
	if s.Email != "" && !ValidEmail(s.Email) {
		f.add("email", "is not an email address")
	}
	if !IsCurrencyCode(s.Currency) {
		f.add("currency", "must be a three-letter ISO 4217 code")
	}
	if s.CreatedAt.IsZero() {
		f.add("created_at", "is required")
	}
	if s.UpdatedAt.IsZero() {
		f.add("updated_at", "is required")
	}
	for _, m := range []struct {
		field string
		m     Money
	}{
		{"total_price", s.TotalPrice}, {"subtotal_price", s.SubtotalPrice}, {"total_discounts", s.TotalDiscounts},
		{"total_tax", s.TotalTax}, {"total_shipping_price_set", s.TotalShipping},
		{"current_total_price", s.CurrentTotalPrice}, {"current_subtotal_price", s.CurrentSubtotalPrice},
		{"current_total_discounts", s.CurrentTotalDiscounts}, {"current_total_tax", s.CurrentTotalTax},
		{"current_shipping_price_set", s.CurrentShipping},
	} {
		checkMoney(&f, m.field, m.m, s.Currency)
	}
	if s.TotalOutstanding != nil && s.TotalOutstanding.Currency != s.Currency {
		checkMoney(&f, "total_outstanding", *s.TotalOutstanding, s.Currency)
	}
	if len(s.LineItems) == 0 {
		f.add("line_items", "must contain at least one line item")
	}
	lines := make(map[int64]bool, len(s.LineItems))
	for i, li := range s.LineItems {
		field := "line_items[" + strconv.Itoa(i) + "]"
		switch {
		case li.ID <= 0:
			f.add(field+".id", "is required")
		case lines[li.ID]:
			f.add(field+".id", "%d is used by another line item", li.ID)
		}
		lines[li.ID] = true
		if strings.TrimSpace(li.Title) == "" {
			f.add(field+".title", "is required")
		}
		if li.Quantity <= 0 {
			f.add(field+".quantity", "must be positive")
		}
		if li.CurrentQuantity < 0 {
			f.add(field+".current_quantity", "must not be negative")
		}
		if li.VariantID < 0 {
			f.add(field+".variant_id", "must not be negative")
		}
		checkMoney(&f, field+".price", li.Price, s.Currency)
	}
	fulfilments := make(map[int64]bool, len(s.Fulfillments))
	for i, fl := range s.Fulfillments {
		field := "fulfillments[" + strconv.Itoa(i) + "]"
		checkChildID(&f, field+".id", fl.ID, fulfilments)
		if fl.CreatedAt.IsZero() {
			f.add(field+".created_at", "is required")
		}
		for j, li := range fl.LineItems {
			checkLineRef(&f, field+".line_items["+strconv.Itoa(j)+"]", "id", li.ID, li.Quantity, lines)
		}
	}
	refunds := make(map[int64]bool, len(s.Refunds))
	for i, r := range s.Refunds {
		field := "refunds[" + strconv.Itoa(i) + "]"
		checkChildID(&f, field+".id", r.ID, refunds)
		if r.CreatedAt.IsZero() {
			f.add(field+".created_at", "is required")
		}
		for j, t := range r.Transactions {
			checkMoney(&f, field+".transactions["+strconv.Itoa(j)+"].amount", t.Amount, s.Currency)
		}
		for j, li := range r.RefundLineItems {
			checkLineRef(&f, field+".refund_line_items["+strconv.Itoa(j)+"]", "line_item_id", li.LineItemID, li.Quantity, lines)
		}
	}
	return f.err()
}

func checkMoney(f *fieldErrors, field string, m Money, currency string) {
	if m.Amount < 0 {
		f.add(field, "must not be negative")
	}
	if IsCurrencyCode(currency) && m.Currency != currency {
		f.add(field, "must be in the order currency %s", currency)
	}
}

func checkChildID(f *fieldErrors, field string, id int64, seen map[int64]bool) {
	switch {
	case id <= 0:
		f.add(field, "is required")
	case seen[id]:
		f.add(field, "%d appears twice", id)
	}
	seen[id] = true
}

func checkLineRef(f *fieldErrors, field, idName string, id int64, qty int, lines map[int64]bool) {
	if !lines[id] {
		f.add(field+"."+idName, "%d is not a line item of this order", id)
	}
	if qty <= 0 {
		f.add(field+".quantity", "must be positive")
	}
}

// Amount is the money the refund returned: its successful refund transactions.
func (r ShopifyRefund) Amount() int64 {
	var sum int64
	for _, t := range r.Transactions {
		if t.Kind == "refund" && (t.Status == "" || t.Status == "success") {
			sum += t.Amount.Amount
		}
	}
	return sum
}

// ShopifyInventoryLevel is an inventory_levels/update webhook body. Tracked is
// false when Shopify sends available: null (the item's stock is not tracked).
type ShopifyInventoryLevel struct {
	InventoryItemID int64
	LocationID      int64
	Available       int
	Tracked         bool
	UpdatedAt       time.Time
}

// DecodeShopifyInventoryLevel decodes and validates an inventory_levels/update body.
func DecodeShopifyInventoryLevel(body []byte) (ShopifyInventoryLevel, error) {
	var raw struct {
		InventoryItemID jsonNumber `json:"inventory_item_id"`
		LocationID      jsonNumber `json:"location_id"`
		Available       jsonNumber `json:"available"`
		UpdatedAt       string     `json:"updated_at"`
	}
	if err := decodeJSON(body, &raw); err != nil {
		return ShopifyInventoryLevel{}, err
	}
	var f fieldErrors
	p := shopifyParser{f: &f}
	l := ShopifyInventoryLevel{
		InventoryItemID: p.id("inventory_item_id", raw.InventoryItemID),
		LocationID:      p.id("location_id", raw.LocationID),
		UpdatedAt:       p.time("updated_at", raw.UpdatedAt),
	}
	if raw.Available != "" {
		l.Available, l.Tracked = p.quantity("available", raw.Available), true
	}
	if l.InventoryItemID == 0 {
		f.add("inventory_item_id", "is required")
	}
	if l.LocationID == 0 {
		f.add("location_id", "is required")
	}
	if l.UpdatedAt.IsZero() {
		f.add("updated_at", "is required")
	}
	if err := f.err(); err != nil {
		return ShopifyInventoryLevel{}, err
	}
	return l, nil
}
