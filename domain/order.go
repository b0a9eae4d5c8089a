package domain

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Status is the lifecycle state an aggregate is in, as reported by a
// TransitionError. Orders use the Status* constants below, derived from their
// financial and fulfilment statuses and cancellation.
type Status string

// Order statuses, modelled on Saleor and Medusa.
const (
	StatusPlaced             Status = "placed"
	StatusPaid               Status = "paid"
	StatusPartiallyFulfilled Status = "partially_fulfilled"
	StatusFulfilled          Status = "fulfilled"
	StatusCancelled          Status = "cancelled"
	StatusPartiallyRefunded  Status = "partially_refunded"
	StatusRefunded           Status = "refunded"
)

// FinancialStatus says where the order's money stands; the API filters on it.
type FinancialStatus string

// Financial statuses, named as Shopify names them.
const (
	FinancialPending           FinancialStatus = "pending"
	FinancialAuthorized        FinancialStatus = "authorized"
	FinancialPartiallyPaid     FinancialStatus = "partially_paid"
	FinancialPaid              FinancialStatus = "paid"
	FinancialPartiallyRefunded FinancialStatus = "partially_refunded"
	FinancialRefunded          FinancialStatus = "refunded"
	FinancialVoided            FinancialStatus = "voided"
	FinancialExpired           FinancialStatus = "expired"
)

// FinancialStatuses lists every financial status, in Shopify's order.
var FinancialStatuses = []FinancialStatus{FinancialPending, FinancialAuthorized, FinancialPartiallyPaid,
	FinancialPaid, FinancialPartiallyRefunded, FinancialRefunded, FinancialVoided, FinancialExpired}

// FulfillmentStatus says how much of the order has shipped; the API filters on it.
type FulfillmentStatus string

// Fulfilment statuses, named as Shopify names them.
const (
	FulfillmentUnfulfilled FulfillmentStatus = "unfulfilled"
	FulfillmentPartial     FulfillmentStatus = "partial"
	FulfillmentFulfilled   FulfillmentStatus = "fulfilled"
	FulfillmentRestocked   FulfillmentStatus = "restocked"
)

// FulfillmentStatuses lists every fulfilment status.
var FulfillmentStatuses = []FulfillmentStatus{FulfillmentUnfulfilled, FulfillmentPartial, FulfillmentFulfilled, FulfillmentRestocked}

// Line is one order line with its running fulfilled and refunded quantities.
// UnitPrice is in minor units of the order currency.
type Line struct {
	ID        string `json:"id"`
	SKU       string `json:"sku"`
	VariantID int64  `json:"variant_id"`
	Title     string `json:"title"`
	// VariantTitle names the variant ("Charcoal / L"); empty for a product
	// without variants and in orders recorded before it was kept.
	VariantTitle      string `json:"variant_title,omitempty"`
	Quantity          int    `json:"quantity"` // current: after edits and removals
	OriginalQuantity  int    `json:"original_quantity"`
	FulfilledQuantity int    `json:"fulfilled_quantity"`
	RefundedQuantity  int    `json:"refunded_quantity"`
	UnitPrice         int64  `json:"unit_price"`
}

// InventoryKey returns the stock key of the line, or false for custom lines
// that have neither SKU nor variant and so are not stocked.
func (l Line) InventoryKey() (string, bool) {
	if l.SKU == "" && l.VariantID == 0 {
		return "", false
	}
	return InventoryKey(l.SKU, l.VariantID), true
}

// OrderState is a read-only copy of an order for projections and the API.
// Money fields are minor units of Currency. OrderFacts are the fields a
// Shopify snapshot states; they are embedded so that JSON stays flat.
type OrderState struct {
	ID           uuid.UUID `json:"id"`
	Shop         string    `json:"shop"`
	ShopifyID    int64     `json:"shopify_id"`
	Source       string    `json:"source"`
	Email        string    `json:"email"`
	CustomerName string    `json:"customer_name"`
	Status       Status    `json:"status"`
	PlacedAt     time.Time `json:"placed_at"`
	// ShopifyUpdatedAt is the updated_at of the newest snapshot applied.
	ShopifyUpdatedAt time.Time `json:"shopify_updated_at"`
	Deleted          bool      `json:"deleted"` // deleted in Shopify: hidden, history kept
	Note             string    `json:"note"`    // the customer's or merchant's note: personal, sealed in events
	OrderFacts
	Version int `json:"version"`
}

// OrderFacts is what an order is now: lines, money, statuses, shipments
// and refunds. A Shopify snapshot replaces all of it (see ApplyShopifySnapshot).
type OrderFacts struct {
	Name              string            `json:"name"`
	Currency          string            `json:"currency"`
	Lines             []Line            `json:"lines"`
	Subtotal          int64             `json:"subtotal"` // current totals, after edits
	Total             int64             `json:"total"`
	Totals            OrderTotals       `json:"totals"`
	Paid              int64             `json:"paid"`
	Refunded          int64             `json:"refunded"`
	FinancialStatus   FinancialStatus   `json:"financial_status"`
	FulfillmentStatus FulfillmentStatus `json:"fulfillment_status"`
	CancelReason      string            `json:"cancel_reason"`
	PaidAt            time.Time         `json:"paid_at"`
	CancelledAt       time.Time         `json:"cancelled_at"`
	Tags              []string          `json:"tags"`
	Test              bool              `json:"test"`
	Fulfillments      []string          `json:"fulfillments"` // ids of the shipments that shipped
	Refunds           []string          `json:"refunds"`
	Shipments         []Shipment        `json:"shipments"`
	RefundDetails     []RefundDetail    `json:"refund_details"`
}

// OrderTotals are the amounts besides subtotal and total, in minor units:
// current ones (after edits, returns and refunds) and the original ones,
// before returns and refunds: Shopify's subtotal_price, total_price and
// the like, which follow order edits (Shopify's originalTotalPriceSet, the
// total as placed, is not kept).
type OrderTotals struct {
	Discounts         int64 `json:"discounts"`
	Shipping          int64 `json:"shipping"`
	Tax               int64 `json:"tax"`
	OriginalSubtotal  int64 `json:"original_subtotal"`
	OriginalTotal     int64 `json:"original_total"`
	OriginalDiscounts int64 `json:"original_discounts"`
	OriginalShipping  int64 `json:"original_shipping"`
	OriginalTax       int64 `json:"original_tax"`
}

// Shipment is one fulfilment with its tracking. Status is Shopify's
// (success, cancelled, pending, open, error, failure); only successful
// shipments count towards fulfilled quantities.
type Shipment struct {
	ID              string         `json:"id"`
	Status          string         `json:"status"`
	Lines           []LineQuantity `json:"lines"`
	TrackingCompany string         `json:"tracking_company,omitempty"`
	TrackingNumbers []string       `json:"tracking_numbers,omitempty"`
	TrackingURLs    []string       `json:"tracking_urls,omitempty"`
	CreatedAt       time.Time      `json:"created_at"`
	UpdatedAt       time.Time      `json:"updated_at"`
}

// RefundDetail is one refund: money, units and the merchant's reason.
type RefundDetail struct {
	ID         string         `json:"id"`
	Amount     int64          `json:"amount"`
	Lines      []LineQuantity `json:"lines"`
	Reason     string         `json:"reason,omitempty"`
	RefundedAt time.Time      `json:"refunded_at"`
	// LowersCurrent, LinesSubtotal and LinesTax: see OrderRefunded; a
	// snapshot older than the refund still needs its current figures lowered by it.
	LowersCurrent bool  `json:"lowers_current,omitempty"`
	LinesSubtotal int64 `json:"lines_subtotal,omitempty"`
	LinesTax      int64 `json:"lines_tax,omitempty"`
}

// Order is the order aggregate. The zero value is an order that does not exist
// yet; its state changes only through Apply.
type Order struct {
	s OrderState
}

// PlaceOrderCommand is the input of PlaceOrder. Amounts are minor units of Currency.
type PlaceOrderCommand struct {
	OrderID          uuid.UUID
	Shop             string
	Name             string
	ShopifyID        int64 // 0 for orders created through the API
	CustomerID       int64 // the Shopify customer; 0 when none is known
	Source           string
	Email            string
	CustomerName     string
	Currency         string
	Lines            []PlacedLine
	Subtotal         int64
	Total            int64
	PlacedAt         time.Time
	ShopifyUpdatedAt time.Time // required for Shopify orders, zero otherwise
}

// PlaceOrder validates a new order and returns its order.placed event.
func PlaceOrder(cmd PlaceOrderCommand) ([]Event, error) {
	var f fieldErrors
	if cmd.OrderID == uuid.Nil {
		f.add("order_id", "is required")
	}
	if !ValidShopDomain(cmd.Shop) {
		f.add("shop", "must be a shop domain like demo.myshopify.com")
	}
	name := strings.TrimSpace(cmd.Name)
	if name == "" {
		f.add("name", "is required")
	}
	switch cmd.Source {
	case SourceShopify:
		if cmd.ShopifyID <= 0 {
			f.add("shopify_id", "must be positive for a Shopify order")
		} else if cmd.OrderID != ShopifyOrderID(cmd.Shop, cmd.ShopifyID) {
			f.add("order_id", "must be ShopifyOrderID(shop, shopify_id)")
		}
		if cmd.ShopifyUpdatedAt.IsZero() {
			f.add("shopify_updated_at", "is required for a Shopify order")
		}
	case SourceAPI:
		if cmd.ShopifyID != 0 {
			f.add("shopify_id", "must be empty for an order placed through the API")
		}
		if !cmd.ShopifyUpdatedAt.IsZero() {
			f.add("shopify_updated_at", "must be empty for an order placed through the API")
		}
	default:
		f.add("source", "must be %q or %q", SourceAPI, SourceShopify)
	}
	email := strings.TrimSpace(cmd.Email)
	if email != "" && !ValidEmail(email) {
		f.add("email", "is not an email address")
	}
	if !IsCurrencyCode(cmd.Currency) {
		f.add("currency", "must be a three-letter ISO 4217 code")
	}
	if cmd.PlacedAt.IsZero() {
		f.add("placed_at", "is required")
	}
	lineSum, lines := validatePlacedLines(&f, cmd.Lines)
	if cmd.Subtotal < 0 {
		f.add("subtotal", "must not be negative")
	} else if lineSum >= 0 && cmd.Subtotal > lineSum {
		// Line discounts can lower the subtotal below the lines' worth, never raise it.
		f.add("subtotal", "is %d, more than the lines add up to (%d)", cmd.Subtotal, lineSum)
	}
	if cmd.Total < 0 {
		f.add("total", "must not be negative")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return []Event{OrderPlaced{
		OrderID:          cmd.OrderID,
		Shop:             cmd.Shop,
		Name:             name,
		ShopifyID:        cmd.ShopifyID,
		CustomerID:       cmd.CustomerID,
		Source:           cmd.Source,
		Email:            email,
		CustomerName:     strings.TrimSpace(cmd.CustomerName),
		Currency:         cmd.Currency,
		Lines:            lines,
		Subtotal:         cmd.Subtotal,
		Total:            cmd.Total,
		PlacedAt:         cmd.PlacedAt.UTC(),
		ShopifyUpdatedAt: cmd.ShopifyUpdatedAt.UTC(),
	}}, nil
}

// validatePlacedLines checks the lines and returns their total worth (-1 when
// unknown or overflowing) and a trimmed copy.
func validatePlacedLines(f *fieldErrors, in []PlacedLine) (int64, []PlacedLine) {
	if len(in) == 0 {
		f.add("lines", "must contain at least one line")
		return -1, nil
	}
	sum := int64(0)
	seen := make(map[string]bool, len(in))
	out := make([]PlacedLine, len(in))
	for i, l := range in {
		field := "lines[" + strconv.Itoa(i) + "]"
		l.ID = strings.TrimSpace(l.ID)
		l.Title = strings.TrimSpace(l.Title)
		l.VariantTitle = strings.TrimSpace(l.VariantTitle)
		switch {
		case l.ID == "":
			f.add(field+".id", "is required")
		case seen[l.ID]:
			f.add(field+".id", "%q is used by another line", l.ID)
		}
		seen[l.ID] = true
		if l.Title == "" {
			f.add(field+".title", "is required")
		}
		if l.Quantity <= 0 {
			f.add(field+".quantity", "must be positive")
		}
		if l.UnitPrice < 0 {
			f.add(field+".unit_price", "must not be negative")
		}
		if l.VariantID < 0 {
			f.add(field+".variant_id", "must not be negative")
		}
		if sum >= 0 {
			var ok bool
			if sum, ok = mulAdd(sum, l.Quantity, l.UnitPrice); !ok {
				sum = -1
				if l.Quantity > 0 && l.UnitPrice >= 0 {
					f.add(field, "quantity times unit price overflows")
				}
			}
		}
		out[i] = l
	}
	return sum, out
}

// ID returns the order's id.
func (o *Order) ID() uuid.UUID { return o.s.ID }

// Version returns the number of events applied, the expected stream version
// for the next append.
func (o *Order) Version() int { return o.s.Version }

// Status returns the order's derived status.
func (o *Order) Status() Status { return o.s.Status }

// Snapshot returns a deep copy of the order's state.
func (o *Order) Snapshot() OrderState {
	s := o.s
	s.OrderFacts = o.s.OrderFacts.clone()
	return s
}

// clone returns a copy that shares no slices with f.
func (f OrderFacts) clone() OrderFacts {
	f.Lines = slices.Clone(f.Lines)
	f.Tags = slices.Clone(f.Tags)
	f.Fulfillments = slices.Clone(f.Fulfillments)
	f.Refunds = slices.Clone(f.Refunds)
	f.Shipments = slices.Clone(f.Shipments)
	for i := range f.Shipments {
		f.Shipments[i].Lines = slices.Clone(f.Shipments[i].Lines)
		f.Shipments[i].TrackingNumbers = slices.Clone(f.Shipments[i].TrackingNumbers)
		f.Shipments[i].TrackingURLs = slices.Clone(f.Shipments[i].TrackingURLs)
	}
	f.RefundDetails = slices.Clone(f.RefundDetails)
	for i := range f.RefundDetails {
		f.RefundDetails[i].Lines = slices.Clone(f.RefundDetails[i].Lines)
	}
	return f
}

// NewOrderFromHistory rebuilds an order from its stream, which must start with
// order.placed and hold only order events.
func NewOrderFromHistory(events []Event) (*Order, error) {
	if len(events) == 0 {
		return nil, fmt.Errorf("order history: %w", ErrNotFound)
	}
	if _, ok := events[0].(OrderPlaced); !ok {
		return nil, fmt.Errorf("order history starts with %s, want order.placed", events[0].EventType())
	}
	o := &Order{}
	for _, e := range events {
		switch e.(type) {
		case OrderPlaced, OrderPaid, OrderFulfilled, OrderCancelled, OrderRefunded, OrderSnapshotApplied,
			OrderEdited, OrderFulfillmentUpdated, OrderDeleted, OrderBackordered, OrderAnnotated:
		default:
			return nil, fmt.Errorf("order history holds %s: %w", e.EventType(), ErrUnknownEventType)
		}
		o.Apply(e)
	}
	return o, nil
}

// Apply changes the order's state by one event. It never fails: events are
// facts, and commands have already checked them. Every event counts towards
// Version so that it matches the stream version, and times are kept in UTC so
// that replayed state compares equal to the original.
func (o *Order) Apply(e Event) {
	switch e := e.(type) {
	case OrderPlaced:
		lines := make([]Line, len(e.Lines))
		for i, l := range e.Lines {
			lines[i] = Line{ID: l.ID, SKU: l.SKU, VariantID: l.VariantID, Title: l.Title, VariantTitle: l.VariantTitle,
				Quantity: l.Quantity, OriginalQuantity: l.Quantity, UnitPrice: l.UnitPrice}
		}
		o.s = OrderState{
			ID: e.OrderID, Shop: e.Shop, ShopifyID: e.ShopifyID, Source: e.Source,
			Email: e.Email, CustomerName: e.CustomerName, PlacedAt: e.PlacedAt.UTC(),
			ShopifyUpdatedAt: e.ShopifyUpdatedAt.UTC(), Version: o.s.Version,
			OrderFacts: OrderFacts{
				Name: e.Name, Currency: e.Currency, Lines: lines, Subtotal: e.Subtotal, Total: e.Total,
				Totals:          OrderTotals{OriginalSubtotal: e.Subtotal, OriginalTotal: e.Total},
				FinancialStatus: FinancialPending, FulfillmentStatus: FulfillmentUnfulfilled,
			},
		}
	case OrderPaid:
		o.s.Paid = e.Amount
		o.s.PaidAt = e.PaidAt.UTC()
		o.s.FinancialStatus = FinancialPaid
	case OrderEdited:
		o.applyEdit(e)
	case OrderFulfilled:
		if slices.Contains(o.s.Fulfillments, e.FulfillmentID) {
			break // Shopify's fulfillments/create after the snapshot that carried it
		}
		for _, lq := range e.Lines {
			if i := o.lineIndex(lq.LineID); i >= 0 {
				o.s.Lines[i].FulfilledQuantity += lq.Quantity
			}
		}
		o.s.Fulfillments = append(o.s.Fulfillments, e.FulfillmentID)
		o.s.Shipments = append(o.s.Shipments, Shipment{
			ID: e.FulfillmentID, Status: ShipmentSuccess, Lines: slices.Clone(e.Lines),
			TrackingCompany: e.TrackingCompany, TrackingNumbers: slices.Clone(e.TrackingNumbers),
			TrackingURLs: slices.Clone(e.TrackingURLs), CreatedAt: e.FulfilledAt.UTC(), UpdatedAt: e.FulfilledAt.UTC(),
		})
		o.s.FulfillmentStatus = o.fulfillmentStatus()
	case OrderFulfillmentUpdated:
		o.applyFulfillmentUpdate(e)
	case OrderCancelled:
		o.s.CancelReason = e.Reason
		o.s.CancelledAt = e.CancelledAt.UTC()
		if o.s.FinancialStatus == FinancialPending || o.s.FinancialStatus == FinancialAuthorized {
			o.s.FinancialStatus = FinancialVoided
		}
	case OrderRefunded:
		if slices.Contains(o.s.Refunds, e.RefundID) {
			break // Shopify's refunds/create after the snapshot that carried it
		}
		detail := RefundDetail{ID: e.RefundID, Amount: e.Amount, Lines: slices.Clone(e.Lines), Reason: e.Reason,
			RefundedAt: e.RefundedAt.UTC(), LowersCurrent: e.LowersCurrent,
			LinesSubtotal: e.LinesSubtotal, LinesTax: e.LinesTax}
		for _, lq := range e.Lines {
			if i := o.lineIndex(lq.LineID); i >= 0 {
				o.s.Lines[i].RefundedQuantity += lq.Quantity
			}
		}
		if e.LowersCurrent {
			o.s.lowerCurrent(detail)
		}
		o.s.Refunded += e.Amount
		o.s.Refunds = append(o.s.Refunds, e.RefundID)
		o.s.RefundDetails = append(o.s.RefundDetails, detail)
		switch {
		case o.s.Refunded >= o.s.Paid && o.s.Refunded > 0:
			o.s.FinancialStatus = FinancialRefunded
		case o.s.Refunded > 0:
			o.s.FinancialStatus = FinancialPartiallyRefunded
		}
	case OrderSnapshotApplied:
		o.s.ShopifyUpdatedAt = e.ShopifyUpdatedAt.UTC()
		if e.Facts != nil {
			o.s.OrderFacts = e.Facts.clone()
			o.s.Email, o.s.CustomerName, o.s.Note = e.Email, e.CustomerName, e.Note
		}
	case OrderAnnotated:
		o.s.Note, o.s.Tags = e.Note, slices.Clone(e.Tags)
	case OrderDeleted:
		o.s.Deleted = true
	}
	o.s.Version++
	o.s.Status = o.deriveStatus()
}

// deriveStatus folds cancellation, money and shipping into one status; the
// first matching rule wins so the result never contradicts the parts.
func (o *Order) deriveStatus() Status {
	switch {
	case !o.s.CancelledAt.IsZero():
		return StatusCancelled
	case o.s.FinancialStatus == FinancialRefunded:
		return StatusRefunded
	case o.s.FinancialStatus == FinancialPartiallyRefunded:
		return StatusPartiallyRefunded
	case o.s.FulfillmentStatus == FulfillmentFulfilled:
		return StatusFulfilled
	case o.s.FulfillmentStatus == FulfillmentPartial:
		return StatusPartiallyFulfilled
	case o.s.FinancialStatus == FinancialPaid:
		return StatusPaid
	default:
		return StatusPlaced
	}
}

func (o *Order) fulfillmentStatus() FulfillmentStatus {
	// Refunds and edits can leave every line at quantity 0: what shipped
	// before still counts, so a shipped order with nothing left is fulfilled.
	shipped := false
	for _, l := range o.s.Lines {
		shipped = shipped || l.FulfilledQuantity > 0
	}
	complete := shipped
	for _, l := range o.s.Lines {
		if l.FulfilledQuantity < l.Quantity {
			complete = false
		}
	}
	switch {
	case complete:
		return FulfillmentFulfilled
	case shipped:
		return FulfillmentPartial
	default:
		return FulfillmentUnfulfilled
	}
}

func (o *Order) lineIndex(id string) int {
	return slices.IndexFunc(o.s.Lines, func(l Line) bool { return l.ID == id })
}

func (o *Order) requireExists() error {
	if o.s.Version == 0 {
		return fmt.Errorf("order: %w", ErrNotFound)
	}
	return nil
}

// isUnpaid reports the financial statuses from which the total can be paid.
func isUnpaid(f FinancialStatus) bool {
	return f == FinancialPending || f == FinancialAuthorized || f == FinancialPartiallyPaid
}

// MarkPaid records payment of the order total. Partial payments are not
// modelled: the amount must equal the total.
func (o *Order) MarkPaid(amount int64, at time.Time) ([]Event, error) {
	if err := o.requireExists(); err != nil {
		return nil, err
	}
	if err := o.s.Statuses().refusal(ActionPay); err != nil {
		return nil, err
	}
	var f fieldErrors
	if amount != o.s.Total {
		f.add("amount", "must equal the order total %d", o.s.Total)
	}
	if at.IsZero() {
		f.add("paid_at", "is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return []Event{OrderPaid{Amount: amount, PaidAt: at.UTC()}}, nil
}

// Tracking is what a shipment's carrier gave to follow it.
type Tracking struct {
	Company string
	Numbers []string
	URLs    []string
}

// Fulfill records one shipment. Unpaid orders may be fulfilled, as Shopify
// allows (merchants ship on invoice); cancelled and fully refunded ones may not.
// A fulfillmentID seen before yields no events, so redeliveries are harmless.
func (o *Order) Fulfill(fulfillmentID string, lines []LineQuantity, at time.Time, tracking Tracking) ([]Event, error) {
	if err := o.requireExists(); err != nil {
		return nil, err
	}
	if fulfillmentID == "" {
		return nil, invalid("fulfillment_id", "is required")
	}
	if slices.Contains(o.s.Fulfillments, fulfillmentID) {
		return nil, nil
	}
	if err := o.s.Statuses().refusal(ActionFulfil); err != nil {
		return nil, err
	}
	clean, err := o.validateLineQuantities(lines, true, at, "fulfilled_at")
	if err != nil {
		return nil, err
	}
	for _, lq := range clean {
		l := o.s.Lines[o.lineIndex(lq.LineID)]
		if left := l.Quantity - l.FulfilledQuantity; lq.Quantity > left {
			return nil, fmt.Errorf("%w: line %s has %d unfulfilled, %d requested", ErrOverFulfilment, l.ID, left, lq.Quantity)
		}
	}
	return []Event{OrderFulfilled{FulfillmentID: fulfillmentID, Lines: clean, FulfilledAt: at.UTC(),
		TrackingCompany: strings.TrimSpace(tracking.Company), TrackingNumbers: slices.Clone(tracking.Numbers), TrackingURLs: slices.Clone(tracking.URLs)}}, nil
}

// Unfulfilled is every line's units not yet shipped: what a fulfilment of
// "everything" ships.
func (o *Order) Unfulfilled() []LineQuantity {
	var out []LineQuantity
	for _, l := range o.s.Lines {
		if left := l.Quantity - l.FulfilledQuantity; left > 0 {
			out = append(out, LineQuantity{LineID: l.ID, Quantity: left})
		}
	}
	return out
}

// Limits Shopify puts on an order's note and tags.
const (
	maxNoteLength = 5000
	maxTagLength  = 255
	maxTags       = 250
)

// Annotate sets the merchant's note and tags; nil leaves either as it is.
// Tags are trimmed, blank ones dropped and duplicates kept once, as Shopify
// does. Nothing changing yields no events.
func (o *Order) Annotate(note *string, tags []string, at time.Time) ([]Event, error) {
	if err := o.requireExists(); err != nil {
		return nil, err
	}
	var f fieldErrors
	next := OrderAnnotated{Note: o.s.Note, Tags: slices.Clone(o.s.Tags), AnnotatedAt: at.UTC()}
	if note != nil {
		next.Note = *note
		if len(next.Note) > maxNoteLength {
			f.add("note", "must be at most %d characters", maxNoteLength)
		}
	}
	if tags != nil {
		next.Tags = []string{}
		for i, t := range tags {
			t = strings.TrimSpace(t)
			switch {
			case len(t) > maxTagLength:
				f.add("tags["+strconv.Itoa(i)+"]", "must be at most %d characters", maxTagLength)
			case t != "" && !slices.Contains(next.Tags, t):
				next.Tags = append(next.Tags, t)
			}
		}
		if len(next.Tags) > maxTags {
			f.add("tags", "must hold at most %d tags", maxTags)
		}
	}
	if at.IsZero() {
		f.add("annotated_at", "is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	if next.Note == o.s.Note && slices.Equal(next.Tags, o.s.Tags) {
		return nil, nil
	}
	return []Event{next}, nil
}

// Cancel cancels an order that has shipped nothing; an unpaid order's payment
// becomes voided, a paid one stays paid until refunded.
func (o *Order) Cancel(reason string, at time.Time) ([]Event, error) {
	if err := o.requireExists(); err != nil {
		return nil, err
	}
	if err := o.s.Statuses().refusal(ActionCancel); err != nil {
		return nil, err
	}
	var f fieldErrors
	reason = strings.TrimSpace(reason)
	if reason == "" {
		f.add("reason", "is required")
	}
	if at.IsZero() {
		f.add("cancelled_at", "is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return []Event{OrderCancelled{Reason: reason, CancelledAt: at.UTC()}}, nil
}

// Refund returns money and optionally line units of a paid order, cancelled or
// not, for the merchant's reason. A refundID seen before yields no events,
// so redeliveries are harmless.
func (o *Order) Refund(refundID string, amount int64, lines []LineQuantity, at time.Time, reason string) ([]Event, error) {
	if err := o.requireExists(); err != nil {
		return nil, err
	}
	if refundID == "" {
		return nil, invalid("refund_id", "is required")
	}
	if slices.Contains(o.s.Refunds, refundID) {
		return nil, nil
	}
	if err := o.s.Statuses().refusal(ActionRefund); err != nil {
		return nil, err
	}
	if amount < 0 {
		return nil, invalid("amount", "must not be negative")
	}
	if amount == 0 && len(lines) == 0 {
		return nil, invalid("amount", "must be positive when no lines are refunded")
	}
	clean, err := o.validateLineQuantities(lines, false, at, "refunded_at")
	if err != nil {
		return nil, err
	}
	if left := o.s.Paid - o.s.Refunded; amount > left {
		return nil, fmt.Errorf("%w: %d refundable, %d requested", ErrOverRefund, left, amount)
	}
	for _, lq := range clean {
		l := o.s.Lines[o.lineIndex(lq.LineID)]
		if left := l.Quantity - l.RefundedQuantity; lq.Quantity > left {
			return nil, fmt.Errorf("%w: line %s has %d refundable units, %d requested", ErrOverRefund, l.ID, left, lq.Quantity)
		}
	}
	return []Event{OrderRefunded{RefundID: refundID, Amount: amount, Lines: clean, RefundedAt: at.UTC(), Reason: strings.TrimSpace(reason)}}, nil
}

// validateLineQuantities checks that every entry names a distinct existing line
// with a positive quantity, and that the timestamp is set.
func (o *Order) validateLineQuantities(lines []LineQuantity, required bool, at time.Time, atField string) ([]LineQuantity, error) {
	var f fieldErrors
	if required && len(lines) == 0 {
		f.add("lines", "must contain at least one line")
	}
	seen := make(map[string]bool, len(lines))
	for i, lq := range lines {
		field := "lines[" + strconv.Itoa(i) + "]"
		switch {
		case o.lineIndex(lq.LineID) < 0:
			f.add(field+".line_id", "%q is not a line of this order", lq.LineID)
		case seen[lq.LineID]:
			f.add(field+".line_id", "%q is listed twice", lq.LineID)
		}
		seen[lq.LineID] = true
		if lq.Quantity <= 0 {
			f.add(field+".quantity", "must be positive")
		}
	}
	if at.IsZero() {
		f.add(atField, "is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return slices.Clone(lines), nil
}

// ShipmentSuccess is the status of a shipment whose units shipped.
const ShipmentSuccess = "success"

// applyEdit sets the lines to the edited ones, keeping what each line has
// shipped and refunded; a line the edit leaves out now has quantity 0.
func (o *Order) applyEdit(e OrderEdited) {
	for i := range o.s.Lines {
		o.s.Lines[i].Quantity = 0
	}
	for _, l := range e.Lines {
		i := o.lineIndex(l.ID)
		if i < 0 {
			o.s.Lines = append(o.s.Lines, Line{ID: l.ID, OriginalQuantity: l.Quantity})
			i = len(o.s.Lines) - 1
		}
		line := &o.s.Lines[i]
		line.SKU, line.VariantID, line.Title, line.Quantity, line.UnitPrice = l.SKU, l.VariantID, l.Title, l.Quantity, l.UnitPrice
		line.VariantTitle = l.VariantTitle
	}
	o.s.Subtotal, o.s.Total = e.Subtotal, e.Total
	o.s.FulfillmentStatus = o.fulfillmentStatus()
}

// applyFulfillmentUpdate records a shipment's new tracking or status; a
// shipment that stops being successful gives its units back.
func (o *Order) applyFulfillmentUpdate(e OrderFulfillmentUpdated) {
	i := slices.IndexFunc(o.s.Shipments, func(s Shipment) bool { return s.ID == e.FulfillmentID })
	if i < 0 || !e.UpdatedAt.After(o.s.Shipments[i].UpdatedAt) {
		return
	}
	sh := &o.s.Shipments[i]
	if was, is := sh.Status == ShipmentSuccess, e.Status == ShipmentSuccess; was != is {
		sign := 1
		o.s.Fulfillments = append(o.s.Fulfillments, e.FulfillmentID)
		if was {
			sign = -1
			o.s.Fulfillments = slices.DeleteFunc(o.s.Fulfillments, func(id string) bool { return id == e.FulfillmentID })
		}
		for _, lq := range sh.Lines {
			if j := o.lineIndex(lq.LineID); j >= 0 {
				o.s.Lines[j].FulfilledQuantity += sign * lq.Quantity
			}
		}
		o.s.FulfillmentStatus = o.fulfillmentStatus()
	}
	sh.Status, sh.UpdatedAt = e.Status, e.UpdatedAt.UTC()
	sh.TrackingCompany, sh.TrackingNumbers, sh.TrackingURLs = e.TrackingCompany, slices.Clone(e.TrackingNumbers), slices.Clone(e.TrackingURLs)
}
