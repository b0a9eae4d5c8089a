package shopify

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ordermill/ordermill/domain"
)

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
type rawOrder struct {
	ID                jsonNumber    `json:"id"`
	Name              string        `json:"name"`
	Email             string        `json:"email"`
	Currency          string        `json:"currency"`
	CreatedAt         string        `json:"created_at"`
	UpdatedAt         string        `json:"updated_at"`
	CancelledAt       string        `json:"cancelled_at"`
	CancelReason      string        `json:"cancel_reason"`
	FinancialStatus   string        `json:"financial_status"`
	FulfillmentStatus string        `json:"fulfillment_status"`
	Tags              string        `json:"tags"`
	Note              string        `json:"note"`
	Test              bool          `json:"test"`
	TotalPrice        jsonNumber    `json:"total_price"`
	SubtotalPrice     jsonNumber    `json:"subtotal_price"`
	TotalDiscounts    jsonNumber    `json:"total_discounts"`
	TotalTax          jsonNumber    `json:"total_tax"`
	TotalShipping     *rawPriceSet  `json:"total_shipping_price_set"`
	CurrentTotal      jsonNumber    `json:"current_total_price"`
	CurrentSubtotal   jsonNumber    `json:"current_subtotal_price"`
	CurrentDiscounts  jsonNumber    `json:"current_total_discounts"`
	CurrentTax        jsonNumber    `json:"current_total_tax"`
	CurrentShipping   *rawPriceSet  `json:"current_shipping_price_set"`
	TotalOutstanding  jsonNumber    `json:"total_outstanding"`
	Customer          *rawCustomer  `json:"customer"`
	LineItems         []rawLineItem `json:"line_items"`
	Fulfillments      []rawFulfil   `json:"fulfillments"`
	Refunds           []rawRefund   `json:"refunds"`
}

// rawPriceSet is Shopify's MoneyBag: the amount in the shop's currency and
// in the customer's; Ordermill keeps the shop's.
type rawPriceSet struct {
	ShopMoney struct {
		Amount jsonNumber `json:"amount"`
	} `json:"shop_money"`
}

type rawCustomer struct {
	ID        jsonNumber `json:"id"`
	FirstName string     `json:"first_name"`
	LastName  string     `json:"last_name"`
	Email     string     `json:"email"`
}

type rawLineItem struct {
	ID        jsonNumber `json:"id"`
	VariantID jsonNumber `json:"variant_id"`
	SKU       string     `json:"sku"`
	Title     string     `json:"title"` // the product's title
	// VariantTitle is null for custom lines and products without variants.
	VariantTitle *string    `json:"variant_title"`
	Quantity     jsonNumber `json:"quantity"`
	Price        jsonNumber `json:"price"`
	// CurrentQuantity is absent before API version 2023-01; then it is Quantity.
	CurrentQuantity   jsonNumber `json:"current_quantity"`
	FulfillmentStatus string     `json:"fulfillment_status"`
}

type rawFulfil struct {
	ID              jsonNumber `json:"id"`
	OrderID         jsonNumber `json:"order_id"`
	Status          string     `json:"status"`
	CreatedAt       string     `json:"created_at"`
	UpdatedAt       string     `json:"updated_at"`
	TrackingCompany string     `json:"tracking_company"`
	TrackingNumber  string     `json:"tracking_number"` // the first of TrackingNumbers, in older versions the only one
	TrackingNumbers []string   `json:"tracking_numbers"`
	TrackingURL     string     `json:"tracking_url"`
	TrackingURLs    []string   `json:"tracking_urls"`
	LineItems       []struct {
		ID       jsonNumber `json:"id"`
		Quantity jsonNumber `json:"quantity"`
	} `json:"line_items"`
}

type rawRefund struct {
	ID           jsonNumber `json:"id"`
	CreatedAt    string     `json:"created_at"`
	Note         string     `json:"note"`
	Transactions []struct {
		Amount jsonNumber `json:"amount"`
		Kind   string     `json:"kind"`
		Status string     `json:"status"`
	} `json:"transactions"`
	RefundLineItems []rawRefundLine `json:"refund_line_items"`
}

type rawRefundLine struct {
	LineItemID  jsonNumber `json:"line_item_id"`
	Quantity    jsonNumber `json:"quantity"`
	RestockType string     `json:"restock_type"`
	// Subtotal and TotalTax are JSON numbers (199.0); the *_set MoneyBags
	// have the exact decimals.
	Subtotal    jsonNumber   `json:"subtotal"`
	SubtotalSet *rawPriceSet `json:"subtotal_set"`
	TotalTax    jsonNumber   `json:"total_tax"`
	TotalTaxSet *rawPriceSet `json:"total_tax_set"`
}

// refundLines converts a refund's lines; prefix names the refund's place in the body.
func (p parser) refundLines(prefix string, raw []rawRefundLine) []domain.ShopifyRefundLine {
	var out []domain.ShopifyRefundLine
	for j, li := range raw {
		lf := prefix + "refund_line_items[" + strconv.Itoa(j) + "]"
		out = append(out, domain.ShopifyRefundLine{LineItemID: p.id(lf+".line_item_id", li.LineItemID),
			Quantity: p.quantity(lf+".quantity", li.Quantity), RestockType: li.RestockType,
			Subtotal: p.statedMoney(lf+".subtotal", li.SubtotalSet, li.Subtotal),
			TotalTax: p.statedMoney(lf+".total_tax", li.TotalTaxSet, li.TotalTax)})
	}
	return out
}

// DecodeOrder decodes and validates an orders/* webhook body. Unknown
// fields are ignored (Shopify adds fields); every problem found is returned in
// one *domain.ValidationError naming the JSON field.
func DecodeOrder(body []byte) (domain.ShopifyOrder, error) {
	var raw rawOrder
	if err := decodeJSON(body, &raw); err != nil {
		return domain.ShopifyOrder{}, err
	}
	var f fieldErrors
	p := parser{f: &f, currency: raw.Currency}
	s := domain.ShopifyOrder{
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
	// Bodies of API versions before the current_* fields: the order as placed.
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
		s.Customer = domain.ShopifyCustomer{ID: p.id("customer.id", c.ID), FirstName: c.FirstName, LastName: c.LastName, Email: strings.TrimSpace(c.Email)}
	}
	for i, li := range raw.LineItems {
		field := "line_items[" + strconv.Itoa(i) + "]"
		line := domain.ShopifyLineItem{
			ID:                p.id(field+".id", li.ID),
			VariantID:         p.id(field+".variant_id", li.VariantID),
			SKU:               strings.TrimSpace(li.SKU),
			Title:             li.Title,
			VariantTitle:      variantTitle(li.VariantTitle),
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
		sr := domain.ShopifyRefund{ID: p.id(field+".id", r.ID), CreatedAt: p.time(field+".created_at", r.CreatedAt), Note: r.Note}
		for j, t := range r.Transactions {
			tf := field + ".transactions[" + strconv.Itoa(j) + "]"
			sr.Transactions = append(sr.Transactions, domain.ShopifyTransaction{Amount: p.money(tf+".amount", t.Amount), Kind: t.Kind, Status: t.Status})
		}
		sr.RefundLineItems = p.refundLines(field+".", r.RefundLineItems)
		s.Refunds = append(s.Refunds, sr)
	}
	// Before the current_* fields, total_price was what a paid order had
	// received; since, the current total excludes what was refunded.
	s.PaidInFull = s.TotalPrice
	if raw.CurrentTotal != "" {
		s.PaidInFull = s.CurrentTotalPrice
		for _, r := range s.Refunds {
			s.PaidInFull.Amount += r.Amount()
		}
	}
	if err := f.err(); err != nil {
		return domain.ShopifyOrder{}, err
	}
	if err := s.Validate(); err != nil {
		return domain.ShopifyOrder{}, err
	}
	return s, nil
}

// fulfillment converts a fulfillment; prefix names its place in the body.
func (p parser) fulfillment(prefix string, fl rawFulfil) domain.ShopifyFulfillment {
	sf := domain.ShopifyFulfillment{ID: p.id(prefix+"id", fl.ID), OrderID: p.id(prefix+"order_id", fl.OrderID), Status: fl.Status,
		CreatedAt: p.time(prefix+"created_at", fl.CreatedAt), UpdatedAt: p.time(prefix+"updated_at", fl.UpdatedAt),
		TrackingCompany: fl.TrackingCompany, TrackingNumbers: fl.TrackingNumbers, TrackingURLs: fl.TrackingURLs}
	if sf.UpdatedAt.IsZero() {
		sf.UpdatedAt = sf.CreatedAt
	}
	if len(sf.TrackingNumbers) == 0 && fl.TrackingNumber != "" {
		sf.TrackingNumbers = []string{fl.TrackingNumber}
	}
	if len(sf.TrackingURLs) == 0 && fl.TrackingURL != "" {
		sf.TrackingURLs = []string{fl.TrackingURL}
	}
	for j, li := range fl.LineItems {
		lf := prefix + "line_items[" + strconv.Itoa(j) + "]"
		sf.LineItems = append(sf.LineItems, domain.ShopifyFulfillmentLine{ID: p.id(lf+".id", li.ID), Quantity: p.quantity(lf+".quantity", li.Quantity)})
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
// a domain.ValidationError, naming the field when the decoder knows it.
func decodeJSON(body []byte, v any) error {
	if err := CheckBody(body); err != nil {
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

// CheckBody refuses a webhook body that would not be processed as
// sent (see domain.CheckJSON) with a domain.ValidationError, which records the webhook as
// failed. Malformed JSON is left to the decoders, which name the field.
// The reason names no key: it is stored in clear, the body sealed.
func CheckBody(body []byte) error {
	if err := domain.CheckJSON(body); err != nil {
		if bad := (*domain.JSONError)(nil); errors.As(err, &bad) && bad.Problem != domain.JSONSyntax {
			return invalid("body", "has %v", bad)
		}
	}
	return nil
}

// parser converts raw fields, collecting errors instead of stopping at the first.
type parser struct {
	f        *fieldErrors
	currency string
}

// id parses an id; a missing or null id is 0, which Validate rejects where required.
func (p parser) id(field string, n jsonNumber) int64 {
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

func (p parser) quantity(field string, n jsonNumber) int {
	v, err := strconv.ParseInt(string(n), 10, 32)
	if err != nil {
		p.f.add(field, "must be an integer, got %q", string(n))
		return 0
	}
	return int(v)
}

func (p parser) money(field string, n jsonNumber) domain.Money {
	if n == "" {
		p.f.add(field, "is required")
		return domain.Money{}
	}
	if !domain.IsCurrencyCode(p.currency) {
		return domain.Money{} // reported once, by Validate, as the currency field
	}
	m, err := domain.ParseMoney(string(n), p.currency)
	if err != nil {
		var ve *domain.ValidationError
		if errors.As(err, &ve) {
			p.f.add(field, "%s", ve.Fields[0].Message)
		}
		return domain.Money{}
	}
	return m
}

// optionalMoney is money that Shopify may leave out: then zero.
func (p parser) optionalMoney(field string, n jsonNumber) domain.Money {
	return p.moneyOr(field, n, domain.Money{Currency: p.currency})
}

// moneyOr is money that Shopify may leave out: then fallback.
func (p parser) moneyOr(field string, n jsonNumber, fallback domain.Money) domain.Money {
	if n == "" {
		return fallback
	}
	return p.money(field, n)
}

// priceSet is the shop-currency amount of a price set; zero when absent.
func (p parser) priceSet(field string, set *rawPriceSet) domain.Money {
	if set == nil {
		return domain.Money{Currency: p.currency}
	}
	return p.optionalMoney(field+".shop_money.amount", set.ShopMoney.Amount)
}

// statedMoney is an amount Shopify sends both as a MoneyBag (field+"_set",
// exact) and as a JSON number (field), either possibly absent: the
// MoneyBag's when present, else the number's, else nil.
func (p parser) statedMoney(field string, set *rawPriceSet, n jsonNumber) *domain.Money {
	var m domain.Money
	switch {
	case set != nil && set.ShopMoney.Amount != "":
		m = p.money(field+"_set.shop_money.amount", set.ShopMoney.Amount)
	case n != "":
		m = p.money(field, n)
	default:
		return nil
	}
	return &m
}

// time parses an RFC 3339 timestamp with offset; a missing or null one is zero.
func (p parser) time(field, s string) time.Time {
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

// RefundBody is a refunds/create webhook body: one refund and the
// order it belongs to.
type RefundBody struct {
	OrderID int64
	Refund  domain.ShopifyRefund
}

// DecodeRefund decodes and validates a refunds/create body. Amounts
// are parsed in currency, the order's currency.
func DecodeRefund(body []byte, currency string) (RefundBody, error) {
	var raw struct {
		rawRefund
		OrderID jsonNumber `json:"order_id"`
	}
	if err := decodeJSON(body, &raw); err != nil {
		return RefundBody{}, err
	}
	var f fieldErrors
	p := parser{f: &f, currency: currency}
	r := domain.ShopifyRefund{ID: p.id("id", raw.ID), CreatedAt: p.time("created_at", raw.CreatedAt), Note: raw.Note}
	for j, t := range raw.Transactions {
		tf := "transactions[" + strconv.Itoa(j) + "]"
		r.Transactions = append(r.Transactions, domain.ShopifyTransaction{Amount: p.money(tf+".amount", t.Amount), Kind: t.Kind, Status: t.Status})
	}
	r.RefundLineItems = p.refundLines("", raw.RefundLineItems)
	out := RefundBody{OrderID: p.id("order_id", raw.OrderID), Refund: r}
	if out.OrderID == 0 {
		f.add("order_id", "is required")
	}
	if r.ID == 0 {
		f.add("id", "is required")
	}
	if r.CreatedAt.IsZero() {
		f.add("created_at", "is required")
	}
	if !domain.IsCurrencyCode(currency) {
		f.add("currency", "must be an ISO 4217 code, got %q", currency)
	}
	if err := f.err(); err != nil {
		return RefundBody{}, err
	}
	return out, nil
}

// DecodeFulfillment decodes a fulfillments/create or fulfillments/update
// body: one fulfillment of the order OrderID. Its line items are full line
// items; their id and quantity are what the fulfilment shipped.
func DecodeFulfillment(body []byte) (domain.ShopifyFulfillment, error) {
	var raw rawFulfil
	if err := decodeJSON(body, &raw); err != nil {
		return domain.ShopifyFulfillment{}, err
	}
	var f fieldErrors
	fl := parser{f: &f}.fulfillment("", raw)
	if fl.ID == 0 {
		f.add("id", "is required")
	}
	if fl.OrderID == 0 {
		f.add("order_id", "is required")
	}
	if fl.CreatedAt.IsZero() {
		f.add("created_at", "is required")
	}
	for i, li := range fl.LineItems {
		if li.ID == 0 || li.Quantity <= 0 {
			f.add("line_items["+strconv.Itoa(i)+"]", "must name a line item and a positive quantity")
		}
	}
	if err := f.err(); err != nil {
		return domain.ShopifyFulfillment{}, err
	}
	return fl, nil
}

// OrderEdit is an orders/edited body: an edit committed to order OrderID.
// Shopify follows it with an orders/updated snapshot carrying the edited
// lines and totals; the edit itself lists only line ids and deltas.
type OrderEdit struct {
	ID        int64
	OrderID   int64
	CreatedAt time.Time
}

// DecodeOrderEdit decodes an orders/edited body.
func DecodeOrderEdit(body []byte) (OrderEdit, error) {
	var raw struct {
		OrderEdit *struct {
			ID        jsonNumber `json:"id"`
			OrderID   jsonNumber `json:"order_id"`
			CreatedAt string     `json:"created_at"`
		} `json:"order_edit"`
	}
	if err := decodeJSON(body, &raw); err != nil {
		return OrderEdit{}, err
	}
	if raw.OrderEdit == nil {
		return OrderEdit{}, invalid("order_edit", "is required")
	}
	var f fieldErrors
	p := parser{f: &f}
	e := OrderEdit{ID: p.requiredID("order_edit.id", raw.OrderEdit.ID), OrderID: p.requiredID("order_edit.order_id", raw.OrderEdit.OrderID),
		CreatedAt: p.time("order_edit.created_at", raw.OrderEdit.CreatedAt)}
	if err := f.err(); err != nil {
		return OrderEdit{}, err
	}
	return e, nil
}

// OrderDeletion is an orders/delete body: the id of the deleted order.
type OrderDeletion struct {
	OrderID int64
}

// DecodeOrderDeletion decodes an orders/delete body.
func DecodeOrderDeletion(body []byte) (OrderDeletion, error) {
	var raw struct {
		ID jsonNumber `json:"id"`
	}
	if err := decodeJSON(body, &raw); err != nil {
		return OrderDeletion{}, err
	}
	var f fieldErrors
	d := OrderDeletion{OrderID: parser{f: &f}.requiredID("id", raw.ID)}
	if err := f.err(); err != nil {
		return OrderDeletion{}, err
	}
	return d, nil
}

// OrderIDOf is the Shopify id of the order a body of topic is about, read
// leniently from a body that may not decode as a whole, so that a failed
// webhook still names its order. False when the topic is not about one
// order or the body names none.
func OrderIDOf(topic string, body []byte) (int64, bool) {
	var raw struct {
		ID        jsonNumber `json:"id"`
		OrderID   jsonNumber `json:"order_id"`
		OrderEdit struct {
			OrderID jsonNumber `json:"order_id"`
		} `json:"order_edit"`
	}
	// A field of the wrong type stops nothing else: the decoder fills the rest.
	_ = json.Unmarshal(body, &raw)
	var n jsonNumber
	switch {
	case slices.Contains(OrderSnapshotTopics, topic) || topic == TopicOrdersDelete:
		n = raw.ID
	case topic == TopicRefundsCreate || topic == TopicFulfillmentsCreate || topic == TopicFulfillmentsUpdate:
		n = raw.OrderID
	case topic == TopicOrdersEdited:
		n = raw.OrderEdit.OrderID
	}
	id, err := strconv.ParseInt(string(n), 10, 64)
	return id, err == nil && id > 0
}
