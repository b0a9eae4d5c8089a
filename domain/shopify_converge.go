package domain

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// For an order that lives in Shopify, Shopify is the source of truth: after
// any delivery order of its webhooks (duplicates, reordering, lost
// intermediates) the order equals its newest snapshot. Snapshots state
// statuses; their arrays (fulfillments, refunds) enrich them with per-line
// quantities, tracking and reasons, and where the arrays are absent or
// partial, the stated statuses win. Local state never blocks a snapshot: what
// local rules would refuse is applied anyway and recorded as an override.

// ApplyShopifySnapshot returns the events that bring the order to the state
// of a Shopify snapshot, as a webhook delivers it. A snapshot older than the
// last one applied yields no events. So does one of the same updated_at
// (Shopify's timestamps are whole seconds, so two changes can share one),
// unless it is plainly the later of the two (comesAfter). A new order
// (Version 0) is placed from the snapshot first. Then come the changes other
// consumers act on — edited lines, payment, new shipments and refunds (by
// id), cancellation — and last order.snapshot_applied, which sets every fact
// to the snapshot's. The only errors are a snapshot that is invalid or of
// another order.
func (o *Order) ApplyShopifySnapshot(s ShopifyOrder, shop string) ([]Event, error) {
	return o.applySnapshot(s, shop, false)
}

// ApplyCurrentShopifySnapshot is ApplyShopifySnapshot for a snapshot read
// from Shopify just now (reconciliation, a backfill, the answer to a write):
// it is Shopify's state when it was read, so one of the same updated_at as
// the last one applied wins wherever the two differ.
func (o *Order) ApplyCurrentShopifySnapshot(s ShopifyOrder, shop string) ([]Event, error) {
	return o.applySnapshot(s, shop, true)
}

func (o *Order) applySnapshot(s ShopifyOrder, shop string, current bool) ([]Event, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	id := ShopifyOrderID(shop, s.ID)
	isNew := o.s.Version == 0
	tie := false
	if !isNew {
		if o.s.ID != id {
			return nil, invalid("id", "snapshot of Shopify order %d of %s does not belong to order %s", s.ID, shop, o.s.ID)
		}
		switch {
		case s.UpdatedAt.Before(o.s.ShopifyUpdatedAt):
			return nil, nil
		case s.UpdatedAt.Equal(o.s.ShopifyUpdatedAt):
			if !current && !s.comesAfter(o.s) {
				return nil, nil
			}
			tie = true
		}
	}
	next := &Order{s: o.Snapshot()} // commands run against a scratch copy; o is untouched
	var (
		events  []Event
		refused []Override
	)
	raise := func(evs ...Event) {
		for _, e := range evs {
			next.Apply(e)
		}
		events = append(events, evs...)
	}
	// follow runs a local command for a change Shopify made; when local rules
	// refuse it, Shopify's word wins: the change is raised as is, and the refusal recorded.
	follow := func(what string, cmd func() ([]Event, error), asIs Event) {
		evs, err := cmd()
		if err != nil {
			refused = append(refused, Override{Field: "rule", Before: what, After: err.Error()})
			evs = []Event{asIs}
		}
		raise(evs...)
	}
	if isNew {
		placed, err := PlaceOrder(placeCommandFromShopify(s, shop, id))
		if err != nil {
			return nil, err
		}
		raise(placed...)
	}
	before := next.Snapshot()
	if edit, ok := s.edit(next.s); ok {
		raise(edit)
	}
	if s.paid() && isUnpaid(next.s.FinancialStatus) {
		// Shopify has no payment time on the order; the snapshot time is when we learnt it.
		follow("pay", func() ([]Event, error) { return next.MarkPaid(next.s.Total, s.UpdatedAt) },
			OrderPaid{Amount: next.s.Total, PaidAt: s.UpdatedAt.UTC()})
	}
	for _, fl := range s.Fulfillments {
		fid := strconv.FormatInt(fl.ID, 10)
		if fl.Status != ShipmentSuccess || slices.Contains(next.s.Fulfillments, fid) {
			continue // pending, open, cancelled, error and failure shipped nothing
		}
		lines := fl.lines()
		follow("fulfil "+fid, func() ([]Event, error) { return next.Fulfill(fid, lines, fl.CreatedAt, fl.tracking()) }, fl.event())
	}
	for _, r := range s.Refunds {
		rid := strconv.FormatInt(r.ID, 10)
		amount, lines := r.Amount(), r.RefundLines()
		if (amount == 0 && len(lines) == 0) || slices.Contains(next.s.Refunds, rid) {
			continue // a refund that returned neither money nor goods (a note) changes nothing
		}
		follow("refund "+rid, func() ([]Event, error) { return next.Refund(rid, amount, lines, r.CreatedAt, r.Note) }, r.event())
	}
	if !s.CancelledAt.IsZero() && next.s.CancelledAt.IsZero() {
		reason := s.cancelReason()
		follow("cancel", func() ([]Event, error) { return next.Cancel(reason, s.CancelledAt) },
			OrderCancelled{Reason: reason, CancelledAt: s.CancelledAt.UTC()})
	}
	for i, e := range events {
		if r, ok := e.(OrderRefunded); ok && r.Reason == "" {
			r.Reason = s.refundNote(r.RefundID)
			events[i] = r
		}
	}
	facts := s.facts(next.s)
	applied := OrderSnapshotApplied{ShopifyUpdatedAt: s.UpdatedAt.UTC(), Facts: &facts,
		CustomerID: s.Customer.ID, Email: s.email(), CustomerName: s.customerName(), Note: s.Note}
	after := &Order{s: next.Snapshot()}
	after.Apply(applied)
	if overrides := append(refused, localOnly(before, after.s)...); len(overrides) > 0 {
		applied.Overrides = append(overrides, differences(before, after.s)...)
	}
	if isNew && len(events) == 1 && reflect.DeepEqual(next.s.OrderFacts, facts) && s.Note == "" {
		return events, nil // order.placed already says it all, updated_at included
	}
	if tie && len(events) == 0 && sameShown(o.s, after.s) {
		return nil, nil // the order already shows this snapshot
	}
	return append(events, applied), nil
}

// financialRank orders the financial statuses an order only moves up
// through in Shopify; -1 for those off that line (voided, expired).
func financialRank(f FinancialStatus) int {
	switch f {
	case FinancialPending, FinancialAuthorized, FinancialPartiallyPaid:
		return 0
	case FinancialPaid:
		return 1
	case FinancialPartiallyRefunded:
		return 2
	case FinancialRefunded:
		return 3
	}
	return -1
}

// comesAfter reports whether a snapshot with the same updated_at as the
// last one applied to o is plainly the later of the two: it knows of a
// refund, a shipment, a payment, a further refund status or a cancellation
// that o does not, and o knows of none that it lacks. Those only accrue in
// Shopify, so a snapshot that knows more and nothing less cannot be older.
// Arrays a snapshot leaves out (nil) tell nothing either way.
func (s ShopifyOrder) comesAfter(o OrderState) bool {
	more, less := false, false
	if rs, ro := financialRank(FinancialStatus(s.FinancialStatus)), financialRank(o.FinancialStatus); rs >= 0 && ro >= 0 {
		more, less = rs > ro, rs < ro
	}
	sCancelled, oCancelled := !s.CancelledAt.IsZero(), !o.CancelledAt.IsZero()
	more, less = more || sCancelled && !oCancelled, less || oCancelled && !sCancelled
	listed := map[string]bool{}
	for _, r := range s.Refunds {
		id := strconv.FormatInt(r.ID, 10)
		listed[id] = true
		more = more || !slices.Contains(o.Refunds, id) && (r.Amount() != 0 || len(r.RefundLines()) > 0)
	}
	for _, id := range o.Refunds {
		less = less || s.Refunds != nil && !listed[id]
	}
	clear(listed)
	for _, f := range s.Fulfillments {
		id := strconv.FormatInt(f.ID, 10)
		listed[id] = true
		more = more || f.Status == ShipmentSuccess && !slices.Contains(o.Fulfillments, id)
	}
	for _, id := range o.Fulfillments {
		less = less || s.Fulfillments != nil && !listed[id]
	}
	return more && !less
}

// sameShown reports whether two states of an order show the same, an empty
// list being no list: states rebuilt from stored events decode [] and null
// apart.
func sameShown(a, b OrderState) bool {
	a.Version, b.Version = 0, 0
	return equalAsShown(reflect.ValueOf(a), reflect.ValueOf(b))
}

func equalAsShown(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !equalAsShown(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equalAsShown(a.Elem(), b.Elem())
	case reflect.Struct:
		if t, ok := a.Interface().(time.Time); ok {
			return t.Equal(b.Interface().(time.Time))
		}
		for i := range a.NumField() {
			if !equalAsShown(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return a.Equal(b)
}

// localOnly lists facts of the order that Shopify's state does not hold: a
// cancellation, refunds or shipments made here and unknown to Shopify.
func localOnly(before, after OrderState) []Override {
	var out []Override
	if !before.CancelledAt.IsZero() && after.CancelledAt.IsZero() {
		out = append(out, Override{Field: "local_cancel", Before: before.CancelReason, After: "not cancelled in Shopify"})
	}
	for _, r := range before.RefundDetails {
		if !slices.Contains(after.Refunds, r.ID) {
			out = append(out, Override{Field: "local_refund", Before: r.ID, After: "unknown to Shopify"})
		}
	}
	for _, id := range before.Fulfillments {
		if !slices.Contains(after.Fulfillments, id) {
			out = append(out, Override{Field: "local_fulfillment", Before: id, After: "not shipped in Shopify"})
		}
	}
	return out
}

// differences lists what an order shows that changed between two states.
func differences(before, after OrderState) []Override {
	var out []Override
	add := func(field, b, a string) {
		if b != a {
			out = append(out, Override{Field: field, Before: b, After: a})
		}
	}
	add("status", string(before.Status), string(after.Status))
	add("financial_status", string(before.FinancialStatus), string(after.FinancialStatus))
	add("fulfillment_status", string(before.FulfillmentStatus), string(after.FulfillmentStatus))
	add("cancelled", strconv.FormatBool(!before.CancelledAt.IsZero()), strconv.FormatBool(!after.CancelledAt.IsZero()))
	add("total", strconv.FormatInt(before.Total, 10), strconv.FormatInt(after.Total, 10))
	add("refunded", strconv.FormatInt(before.Refunded, 10), strconv.FormatInt(after.Refunded, 10))
	add("lines", lineSummary(before.Lines), lineSummary(after.Lines))
	return out
}

// lineSummary shows lines as "id×quantity (shipped/refunded)", in order.
func lineSummary(lines []Line) string {
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = fmt.Sprintf("%s×%d (%d/%d)", l.ID, l.Quantity, l.FulfilledQuantity, l.RefundedQuantity)
	}
	return strings.Join(parts, ", ")
}

// paid reports whether Shopify considers the order paid in full at some
// point; later refunds do not undo that.
func (s ShopifyOrder) paid() bool {
	switch FinancialStatus(s.FinancialStatus) {
	case FinancialPaid, FinancialPartiallyRefunded, FinancialRefunded:
		return true
	}
	return false
}

func (s ShopifyOrder) cancelReason() string {
	if strings.TrimSpace(s.CancelReason) == "" {
		return "other"
	}
	return strings.TrimSpace(s.CancelReason)
}

func (s ShopifyOrder) email() string {
	if s.Email != "" {
		return s.Email
	}
	return s.Customer.Email
}

func (s ShopifyOrder) customerName() string {
	return strings.TrimSpace(s.Customer.FirstName + " " + s.Customer.LastName)
}

func (s ShopifyOrder) refundNote(id string) string {
	for _, r := range s.Refunds {
		if strconv.FormatInt(r.ID, 10) == id {
			return r.Note
		}
	}
	return ""
}

// currentLines are the snapshot's lines with their current quantities.
func (s ShopifyOrder) currentLines() []PlacedLine {
	lines := make([]PlacedLine, len(s.LineItems))
	for i, li := range s.LineItems {
		lines[i] = PlacedLine{ID: strconv.FormatInt(li.ID, 10), SKU: li.SKU, VariantID: li.VariantID,
			Title: li.Title, VariantTitle: li.VariantTitle, Quantity: li.CurrentQuantity, UnitPrice: li.Price.Amount}
	}
	return lines
}

// edit returns the order.edited event that brings the order's lines and
// totals to the snapshot's, or false when they already match.
func (s ShopifyOrder) edit(o OrderState) (OrderEdited, bool) {
	e := OrderEdited{Lines: s.currentLines(), Subtotal: s.CurrentSubtotalPrice.Amount,
		Total: s.CurrentTotalPrice.Amount, EditedAt: s.UpdatedAt.UTC()}
	same := e.Subtotal == o.Subtotal && e.Total == o.Total && len(e.Lines) == len(o.Lines)
	for i := 0; same && i < len(e.Lines); i++ {
		l, have := e.Lines[i], o.Lines[i]
		same = l.ID == have.ID && l.SKU == have.SKU && l.VariantID == have.VariantID && l.Title == have.Title &&
			l.VariantTitle == have.VariantTitle && l.Quantity == have.Quantity && l.UnitPrice == have.UnitPrice
	}
	return e, !same
}

func (f ShopifyFulfillment) lines() []LineQuantity {
	lines := make([]LineQuantity, 0, len(f.LineItems))
	for _, li := range f.LineItems {
		lines = append(lines, LineQuantity{LineID: strconv.FormatInt(li.ID, 10), Quantity: li.Quantity})
	}
	return lines
}

func (f ShopifyFulfillment) tracking() Tracking {
	return Tracking{Company: f.TrackingCompany, Numbers: f.TrackingNumbers, URLs: f.TrackingURLs}
}

func (f ShopifyFulfillment) event() OrderFulfilled {
	return OrderFulfilled{FulfillmentID: strconv.FormatInt(f.ID, 10), Lines: f.lines(), FulfilledAt: f.CreatedAt.UTC(),
		TrackingCompany: f.TrackingCompany, TrackingNumbers: slices.Clone(f.TrackingNumbers), TrackingURLs: slices.Clone(f.TrackingURLs)}
}

func (f ShopifyFulfillment) shipment() Shipment {
	return Shipment{ID: strconv.FormatInt(f.ID, 10), Status: f.Status, Lines: f.lines(),
		TrackingCompany: f.TrackingCompany, TrackingNumbers: slices.Clone(f.TrackingNumbers),
		TrackingURLs: slices.Clone(f.TrackingURLs), CreatedAt: f.CreatedAt.UTC(), UpdatedAt: f.UpdatedAt.UTC()}
}

func (r ShopifyRefund) event() OrderRefunded {
	return OrderRefunded{RefundID: strconv.FormatInt(r.ID, 10), Amount: r.Amount(), Lines: r.RefundLines(),
		RefundedAt: r.CreatedAt.UTC(), Reason: r.Note}
}

// facts is the order as the snapshot states it. Shipments and refunds the
// order holds that are newer than the snapshot (delivered by fulfillments/*
// or refunds/create before Shopify's next snapshot) are kept: the snapshot
// predates them, so its silence does not contradict them.
func (s ShopifyOrder) facts(local OrderState) OrderFacts {
	f := OrderFacts{
		Name: s.Name, Currency: s.Currency, Tags: slices.Clone(s.Tags), Test: s.Test,
		Subtotal: s.CurrentSubtotalPrice.Amount, Total: s.CurrentTotalPrice.Amount,
		Totals: OrderTotals{
			Discounts: s.CurrentTotalDiscounts.Amount, Shipping: s.CurrentShipping.Amount, Tax: s.CurrentTotalTax.Amount,
			OriginalSubtotal: s.SubtotalPrice.Amount, OriginalTotal: s.TotalPrice.Amount,
			OriginalDiscounts: s.TotalDiscounts.Amount, OriginalShipping: s.TotalShipping.Amount, OriginalTax: s.TotalTax.Amount,
		},
	}
	for _, li := range s.LineItems {
		f.Lines = append(f.Lines, Line{ID: strconv.FormatInt(li.ID, 10), SKU: li.SKU, VariantID: li.VariantID, Title: li.Title,
			VariantTitle: li.VariantTitle, Quantity: li.CurrentQuantity, OriginalQuantity: li.Quantity, UnitPrice: li.Price.Amount})
	}
	for _, l := range local.Lines { // Shopify keeps removed lines; keep any it no longer sends, emptied
		if !slices.ContainsFunc(f.Lines, func(x Line) bool { return x.ID == l.ID }) {
			f.Lines = append(f.Lines, Line{ID: l.ID, SKU: l.SKU, VariantID: l.VariantID, Title: l.Title, VariantTitle: l.VariantTitle,
				OriginalQuantity: l.OriginalQuantity, UnitPrice: l.UnitPrice})
		}
	}
	keptShipment, keptRefund := false, false // news the snapshot predates
	for _, fl := range s.Fulfillments {
		sh := fl.shipment()
		if i := slices.IndexFunc(local.Shipments, func(x Shipment) bool { return x.ID == sh.ID }); i >= 0 &&
			local.Shipments[i].UpdatedAt.After(sh.UpdatedAt) {
			sh, keptShipment = local.Shipments[i], true
		}
		f.Shipments = append(f.Shipments, sh)
	}
	for _, sh := range local.Shipments {
		if sh.UpdatedAt.After(s.UpdatedAt) && !slices.ContainsFunc(f.Shipments, func(x Shipment) bool { return x.ID == sh.ID }) {
			f.Shipments, keptShipment = append(f.Shipments, sh), true
		}
	}
	for _, r := range s.Refunds {
		if d := r.event(); d.Amount > 0 || len(d.Lines) > 0 || d.Reason != "" {
			f.RefundDetails = append(f.RefundDetails, RefundDetail{ID: d.RefundID, Amount: d.Amount, Lines: d.Lines,
				Reason: d.Reason, RefundedAt: d.RefundedAt})
		}
	}
	for _, r := range local.RefundDetails {
		if r.RefundedAt.After(s.UpdatedAt) && !slices.ContainsFunc(f.RefundDetails, func(x RefundDetail) bool { return x.ID == r.ID }) {
			f.RefundDetails, keptRefund = append(f.RefundDetails, r), true
			if r.LowersCurrent { // the snapshot's current figures predate it
				f.lowerCurrent(r)
			}
		}
	}
	f.shipAndRefund()
	f.FinancialStatus = FinancialStatus(s.FinancialStatus)
	if !slices.Contains(FinancialStatuses, f.FinancialStatus) {
		f.FinancialStatus = local.FinancialStatus // null or a value Shopify may add: what we knew stands
	}
	f.FulfillmentStatus = FulfillmentStatus(s.FulfillmentStatus)
	switch {
	case s.FulfillmentStatus == "":
		f.FulfillmentStatus = FulfillmentUnfulfilled
	case !slices.Contains(FulfillmentStatuses, f.FulfillmentStatus):
		f.FulfillmentStatus = local.FulfillmentStatus
	}
	// Stated statuses win over partial arrays: a fulfilled order or line
	// has shipped all of its current quantity and the units refunded after
	// shipping, whatever the arrays show.
	for i, li := range s.LineItems {
		if f.FulfillmentStatus == FulfillmentFulfilled || li.FulfillmentStatus == string(FulfillmentFulfilled) {
			f.Lines[i].FulfilledQuantity = max(f.Lines[i].FulfilledQuantity, min(li.Quantity, li.CurrentQuantity+s.returned(li.ID)))
		}
	}
	f.Paid, f.Refunded = s.money(f, local)
	// Newer news moves only the status it is about: a refund that empties
	// unshipped lines does not make the order fulfilled.
	if keptShipment {
		o := Order{s: OrderState{OrderFacts: f}}
		if fs := o.fulfillmentStatus(); fs != FulfillmentUnfulfilled {
			f.FulfillmentStatus = fs
		}
	}
	if keptRefund {
		switch {
		case f.Refunded > 0 && f.Refunded >= f.Paid:
			f.FinancialStatus = FinancialRefunded
		case f.Refunded > 0:
			f.FinancialStatus = FinancialPartiallyRefunded
		}
	}
	if f.Paid > 0 {
		f.PaidAt = local.PaidAt
		if f.PaidAt.IsZero() {
			f.PaidAt = s.UpdatedAt.UTC()
		}
	}
	if !s.CancelledAt.IsZero() {
		f.CancelledAt, f.CancelReason = s.CancelledAt.UTC(), s.cancelReason()
	}
	return f
}

// lowerCurrent takes a refund the facts' current figures do not yet reflect
// off the current total, subtotal, tax and line quantities, as Shopify's
// current_* do: the money off the total, the units' worth and tax off the
// subtotal and tax.
func (f *OrderFacts) lowerCurrent(r RefundDetail) {
	f.Total = max(0, f.Total-r.Amount)
	f.Subtotal = max(0, f.Subtotal-r.LinesSubtotal)
	f.Totals.Tax = max(0, f.Totals.Tax-r.LinesTax)
	for _, lq := range r.Lines {
		if i := slices.IndexFunc(f.Lines, func(l Line) bool { return l.ID == lq.LineID }); i >= 0 {
			f.Lines[i].Quantity = max(0, f.Lines[i].Quantity-lq.Quantity)
		}
	}
}

// returned is the number of units of a line that the snapshot's refunds
// took back after they had shipped (restock type "return").
func (s ShopifyOrder) returned(lineID int64) int {
	n := 0
	for _, r := range s.Refunds {
		for _, rl := range r.RefundLineItems {
			if rl.LineItemID == lineID && rl.RestockType == "return" {
				n += rl.Quantity
			}
		}
	}
	return n
}

// shipAndRefund derives the per-line shipped and refunded units and the
// id lists from the shipments and refunds.
func (f *OrderFacts) shipAndRefund() {
	add := func(lines []LineQuantity, shipped bool) {
		for _, lq := range lines {
			i := slices.IndexFunc(f.Lines, func(l Line) bool { return l.ID == lq.LineID })
			switch {
			case i < 0:
			case shipped:
				f.Lines[i].FulfilledQuantity += lq.Quantity
			default:
				f.Lines[i].RefundedQuantity += lq.Quantity
			}
		}
	}
	for _, sh := range f.Shipments {
		if sh.Status == ShipmentSuccess {
			f.Fulfillments = append(f.Fulfillments, sh.ID)
			add(sh.Lines, true)
		}
	}
	for _, r := range f.RefundDetails {
		f.Refunds = append(f.Refunds, r.ID)
		f.Refunded += r.Amount
		add(r.Lines, false)
	}
}

// money returns what was paid and refunded. A refunded order whose refunds
// the snapshot does not list refunded all it received.
func (s ShopifyOrder) money(f OrderFacts, local OrderState) (paid, refunded int64) {
	refunded = f.Refunded
	switch f.FinancialStatus {
	case FinancialPaid, FinancialPartiallyRefunded:
		paid = s.PaidInFull.Amount
	case FinancialRefunded:
		paid = s.PaidInFull.Amount
		if refunded == 0 {
			refunded = paid
		}
	case FinancialPartiallyPaid:
		paid = local.Paid
		if s.TotalOutstanding != nil {
			paid = max(0, s.PaidInFull.Amount-s.TotalOutstanding.Amount)
		}
	}
	return paid, refunded
}

// placeCommandFromShopify places the order with the lines it has now; an
// order whose every line was removed is placed as it was first ordered.
func placeCommandFromShopify(s ShopifyOrder, shop string, id uuid.UUID) PlaceOrderCommand {
	lines := slices.DeleteFunc(s.currentLines(), func(l PlacedLine) bool { return l.Quantity == 0 })
	subtotal, total := s.CurrentSubtotalPrice.Amount, s.CurrentTotalPrice.Amount
	if len(lines) == 0 {
		lines = s.currentLines()
		for i, li := range s.LineItems {
			lines[i].Quantity = li.Quantity
		}
		subtotal, total = s.SubtotalPrice.Amount, s.TotalPrice.Amount
	}
	return PlaceOrderCommand{
		OrderID:          id,
		Shop:             shop,
		Name:             s.Name,
		ShopifyID:        s.ID,
		CustomerID:       s.Customer.ID,
		Source:           SourceShopify,
		Email:            s.email(),
		CustomerName:     s.customerName(),
		Currency:         s.Currency,
		Lines:            lines,
		Subtotal:         subtotal,
		Total:            total,
		PlacedAt:         s.CreatedAt,
		ShopifyUpdatedAt: s.UpdatedAt,
	}
}

// ApplyShopifyRefund applies a refunds/create body directly, so a refund
// shows before the snapshot that carries it. A refund already known, or one
// older than the newest snapshot applied (which would have listed it), yields
// no events; the next snapshot settles statuses either way.
func (o *Order) ApplyShopifyRefund(r ShopifyRefund) ([]Event, error) {
	if err := o.requireExists(); err != nil {
		return nil, err
	}
	e := r.event()
	if slices.Contains(o.s.Refunds, e.RefundID) || !r.CreatedAt.After(o.s.ShopifyUpdatedAt) ||
		(e.Amount == 0 && len(e.Lines) == 0) {
		return nil, nil
	}
	e.LowersCurrent = true
	e.LinesSubtotal, e.LinesTax = o.linesTakenBack(r)
	return []Event{e}, nil
}

// linesTakenBack is the worth and the tax of the units a Shopify refund
// takes back: each refund line's stated subtotal, else its units at the
// line's price, and its stated tax, else none.
func (o *Order) linesTakenBack(r ShopifyRefund) (subtotal, tax int64) {
	for _, rl := range r.RefundLineItems {
		if rl.Subtotal != nil {
			subtotal += rl.Subtotal.Amount
		} else if i := o.lineIndex(strconv.FormatInt(rl.LineItemID, 10)); i >= 0 {
			subtotal += int64(rl.Quantity) * o.s.Lines[i].UnitPrice
		}
		if rl.TotalTax != nil {
			tax += rl.TotalTax.Amount
		}
	}
	return subtotal, tax
}

// ApplyShopifyFulfillment applies a fulfillments/create or
// fulfillments/update body: a new successful shipment, or news (tracking,
// status) about a known one. What the newest snapshot applied already
// reflects yields no events.
func (o *Order) ApplyShopifyFulfillment(f ShopifyFulfillment) ([]Event, error) {
	if err := o.requireExists(); err != nil {
		return nil, err
	}
	id := strconv.FormatInt(f.ID, 10)
	i := slices.IndexFunc(o.s.Shipments, func(s Shipment) bool { return s.ID == id })
	switch {
	case i >= 0:
		if !f.UpdatedAt.After(o.s.Shipments[i].UpdatedAt) {
			return nil, nil
		}
		return []Event{OrderFulfillmentUpdated{FulfillmentID: id, Status: f.Status, TrackingCompany: f.TrackingCompany,
			TrackingNumbers: slices.Clone(f.TrackingNumbers), TrackingURLs: slices.Clone(f.TrackingURLs), UpdatedAt: f.UpdatedAt.UTC()}}, nil
	case f.Status != ShipmentSuccess || !f.UpdatedAt.After(o.s.ShopifyUpdatedAt):
		return nil, nil
	}
	e := f.event()
	if f.UpdatedAt.After(f.CreatedAt) { // created earlier, updated since: both are news
		up := OrderFulfillmentUpdated{FulfillmentID: id, Status: f.Status, TrackingCompany: f.TrackingCompany,
			TrackingNumbers: slices.Clone(f.TrackingNumbers), TrackingURLs: slices.Clone(f.TrackingURLs), UpdatedAt: f.UpdatedAt.UTC()}
		return []Event{e, up}, nil
	}
	return []Event{e}, nil
}

// DeleteInShopify records that Shopify deleted the order (orders/delete).
func (o *Order) DeleteInShopify(at time.Time) ([]Event, error) {
	if err := o.requireExists(); err != nil {
		return nil, err
	}
	if o.s.Deleted {
		return nil, nil
	}
	return []Event{OrderDeleted{DeletedAt: at.UTC()}}, nil
}
