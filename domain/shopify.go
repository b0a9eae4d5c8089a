package domain

import (
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
	PaidInFull            Money  // what the order has received once paid in full: current total plus refunds
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
	VariantTitle      string // "" when the product has only Shopify's "Default Title" variant
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
// RestockType is Shopify's: "return" for units that had shipped, "cancel"
// for units that had not, "no_restock" or "legacy_restock" when it does not say.
// Subtotal is the units' worth after their discounts (refund_line_items[].subtotal)
// and TotalTax their tax: what the order's current subtotal and tax stop
// counting, whatever money the refund returns; nil when the body does not say.
type ShopifyRefundLine struct {
	LineItemID  int64
	Quantity    int
	RestockType string
	Subtotal    *Money
	TotalTax    *Money
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
		{"current_shipping_price_set", s.CurrentShipping}, {"paid_in_full", s.PaidInFull},
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
			lf := field + ".refund_line_items[" + strconv.Itoa(j) + "]"
			checkLineRef(&f, lf, "line_item_id", li.LineItemID, li.Quantity, lines)
			if li.Subtotal != nil {
				checkMoney(&f, lf+".subtotal", *li.Subtotal, s.Currency)
			}
			if li.TotalTax != nil {
				checkMoney(&f, lf+".total_tax", *li.TotalTax, s.Currency)
			}
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
