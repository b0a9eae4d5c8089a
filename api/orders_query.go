package api

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
)

// orderSummary is an order as listed. Shopify ids are strings because they
// exceed 2^53, which JavaScript numbers cannot hold exactly; money is integer
// minor units of currency.
type orderSummary struct {
	ID                uuid.UUID  `json:"id"`
	Name              string     `json:"name"`
	ShopifyID         *string    `json:"shopify_id"`
	Source            string     `json:"source"`
	Email             string     `json:"email"`
	CustomerName      string     `json:"customer_name"`
	Currency          string     `json:"currency"`
	CurrencyExponent  int        `json:"currency_exponent"` // ISO 4217 minor-unit digits of every amount
	Subtotal          int64      `json:"subtotal"`
	Total             int64      `json:"total"`
	Paid              int64      `json:"paid"`
	Refunded          int64      `json:"refunded"`
	Status            string     `json:"status"`
	FinancialStatus   string     `json:"financial_status"`
	FulfillmentStatus string     `json:"fulfillment_status"`
	ItemCount         int        `json:"item_count"`
	PlacedAt          time.Time  `json:"placed_at"`
	CancelledAt       *time.Time `json:"cancelled_at"`
	Tags              []string   `json:"tags"`
	Test              bool       `json:"test"`
	Version           int64      `json:"version"`
	// AllowedActions is what the order's state allows, as the domain decides.
	AllowedActions []domain.Action `json:"allowed_actions"`
}

// orderDetail is one order with its lines, and what Shopify states about it
// besides: the other totals, note, cancel reason, shipments and refunds.
type orderDetail struct {
	orderSummary
	Totals       domain.OrderTotals `json:"totals"`
	Note         string             `json:"note"`
	CancelReason string             `json:"cancel_reason"`
	Shipments    []orderShipment    `json:"shipments"`
	Refunds      []orderRefund      `json:"refunds"`
	Lines        []orderLine        `json:"lines"`
}

// orderShipment is one fulfilment with its tracking.
type orderShipment struct {
	ID              string                `json:"id"`
	Status          string                `json:"status"`
	Lines           []domain.LineQuantity `json:"lines"`
	TrackingCompany string                `json:"tracking_company"`
	TrackingNumbers []string              `json:"tracking_numbers"`
	TrackingURLs    []string              `json:"tracking_urls"`
	CreatedAt       time.Time             `json:"created_at"`
}

// orderRefund is one refund with the merchant's reason.
type orderRefund struct {
	ID         string                `json:"id"`
	Amount     int64                 `json:"amount"`
	Lines      []domain.LineQuantity `json:"lines"`
	Reason     string                `json:"reason"`
	RefundedAt time.Time             `json:"refunded_at"`
}

func shipmentsOf(in []domain.Shipment) []orderShipment {
	out := make([]orderShipment, len(in))
	for i, s := range in {
		out[i] = orderShipment{ID: s.ID, Status: s.Status, Lines: nonNil(s.Lines), TrackingCompany: s.TrackingCompany,
			TrackingNumbers: nonNil(s.TrackingNumbers), TrackingURLs: nonNil(s.TrackingURLs), CreatedAt: s.CreatedAt.UTC()}
	}
	return out
}

func refundsOf(in []domain.RefundDetail) []orderRefund {
	out := make([]orderRefund, len(in))
	for i, r := range in {
		out[i] = orderRefund{ID: r.ID, Amount: r.Amount, Lines: nonNil(r.Lines), Reason: r.Reason, RefundedAt: r.RefundedAt.UTC()}
	}
	return out
}

// nonNil answers an empty list for none: the API's arrays are never null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

type orderLine struct {
	ID                string  `json:"id"`
	SKU               string  `json:"sku"`
	VariantID         *string `json:"variant_id"`
	InventoryKey      string  `json:"inventory_key"` // empty for custom lines, which are not stocked
	Title             string  `json:"title"`
	VariantTitle      string  `json:"variant_title"` // empty for products without variants
	Quantity          int     `json:"quantity"`      // current, after edits
	OriginalQuantity  int     `json:"original_quantity"`
	FulfilledQuantity int     `json:"fulfilled_quantity"`
	RefundedQuantity  int     `json:"refunded_quantity"`
	UnitPrice         int64   `json:"unit_price"`
	CurrencyExponent  int     `json:"currency_exponent"` // the order's currency's, for unit_price
}

// idString renders an optional Shopify id (0 or NULL means none) as a string.
func idString(id *int64) *string {
	if id == nil || *id == 0 {
		return nil
	}
	s := strconv.FormatInt(*id, 10)
	return &s
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// orderFromState renders the aggregate itself, as writes answer with it
// instead of the read model, which may not have caught up yet.
func orderFromState(o domain.OrderState) orderDetail {
	d := orderDetail{orderSummary: orderSummary{
		ID: o.ID, Name: o.Name, ShopifyID: idString(&o.ShopifyID), Source: o.Source, Email: o.Email,
		CustomerName: o.CustomerName, Currency: o.Currency, CurrencyExponent: domain.CurrencyExponent(o.Currency), Subtotal: o.Subtotal, Total: o.Total,
		Paid: o.Paid, Refunded: o.Refunded, Status: string(o.Status), FinancialStatus: string(o.FinancialStatus),
		FulfillmentStatus: string(o.FulfillmentStatus), PlacedAt: o.PlacedAt, CancelledAt: optionalTime(o.CancelledAt),
		Tags: nonNil(o.Tags), Test: o.Test, Version: int64(o.Version), AllowedActions: o.Statuses().AllowedActions(),
	},
		Totals: o.Totals, Note: o.Note, CancelReason: o.CancelReason,
		Shipments: shipmentsOf(o.Shipments), Refunds: refundsOf(o.RefundDetails),
	}
	d.Lines = make([]orderLine, len(o.Lines))
	for i, l := range o.Lines {
		key, _ := l.InventoryKey()
		d.Lines[i] = orderLine{
			ID: l.ID, SKU: l.SKU, VariantID: idString(&l.VariantID), InventoryKey: key, Title: l.Title,
			Quantity: l.Quantity, OriginalQuantity: l.OriginalQuantity, FulfilledQuantity: l.FulfilledQuantity, RefundedQuantity: l.RefundedQuantity,
			UnitPrice: l.UnitPrice, CurrencyExponent: d.CurrencyExponent,
		}
		d.ItemCount += l.Quantity
	}
	return d
}

const orderColumns = `id, name, shopify_id, source, email, customer_name, currency, subtotal, total, paid,
	refunded, status, financial_status, fulfillment_status, item_count, placed_at, cancelled_at, tags, test, version`

// scanOrder reads orderColumns, then the columns of more, if any.
func scanOrder(row pgx.Row, more ...any) (orderSummary, error) {
	var (
		o         orderSummary
		shopifyID *int64
	)
	err := row.Scan(append([]any{&o.ID, &o.Name, &shopifyID, &o.Source, &o.Email, &o.CustomerName, &o.Currency, &o.Subtotal,
		&o.Total, &o.Paid, &o.Refunded, &o.Status, &o.FinancialStatus, &o.FulfillmentStatus, &o.ItemCount,
		&o.PlacedAt, &o.CancelledAt, &o.Tags, &o.Test, &o.Version}, more...)...)
	o.ShopifyID = idString(shopifyID)
	o.CurrencyExponent = domain.CurrencyExponent(o.Currency)
	o.AllowedActions = domain.OrderStatuses{Status: domain.Status(o.Status), FinancialStatus: domain.FinancialStatus(o.FinancialStatus),
		FulfillmentStatus: domain.FulfillmentStatus(o.FulfillmentStatus), Cancelled: o.CancelledAt != nil}.AllowedActions()
	o.PlacedAt = o.PlacedAt.UTC()
	if o.CancelledAt != nil {
		*o.CancelledAt = o.CancelledAt.UTC()
	}
	return o, err
}

// queryOrder reads one order and its lines from the read model in a single
// round trip; an order of another shop is errNotFound.
func (s *server) queryOrder(ctx context.Context, shop string, id uuid.UUID) (orderDetail, error) {
	b := &pgx.Batch{}
	var d orderDetail
	// An order deleted in Shopify is hidden; its history stays readable.
	b.Queue(`SELECT `+orderColumns+`, totals, note, cancel_reason, shipments, refund_details
		FROM orders_view WHERE shop = $1 AND id = $2 AND NOT deleted`, shop, id).QueryRow(func(row pgx.Row) error {
		var (
			shipments []domain.Shipment
			refunds   []domain.RefundDetail
		)
		var err error
		d.orderSummary, err = scanOrder(row, &d.Totals, &d.Note, &d.CancelReason, &shipments, &refunds)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNotFound
		}
		d.Shipments, d.Refunds = shipmentsOf(shipments), refundsOf(refunds)
		return err
	})
	b.Queue(`SELECT line_id, sku, variant_id, inventory_key, title, variant_title, quantity, original_quantity, fulfilled_quantity, refunded_quantity, unit_price
		FROM order_lines_view WHERE order_id = $1 AND shop = $2 ORDER BY position`, id, shop).Query(func(rows pgx.Rows) error {
		var err error
		d.Lines, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (orderLine, error) {
			var (
				l       orderLine
				variant *int64
			)
			err := row.Scan(&l.ID, &l.SKU, &variant, &l.InventoryKey, &l.Title, &l.VariantTitle, &l.Quantity, &l.OriginalQuantity, &l.FulfilledQuantity,
				&l.RefundedQuantity, &l.UnitPrice)
			l.VariantID = idString(variant)
			return l, err
		})
		return err
	})
	if err := s.ReadPool.SendBatch(ctx, b).Close(); err != nil {
		return orderDetail{}, fmt.Errorf("order %s: %w", id, err)
	}
	for i := range d.Lines {
		d.Lines[i].CurrencyExponent = d.CurrencyExponent
	}
	return d, nil
}

// page is the envelope of every list. Total, when asked for, counts every
// item that matches the filters, on all pages.
type page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
	Total      *int64  `json:"total,omitempty"`
}

const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// queryErrors collects invalid query parameters so one 400 lists them all.
type queryErrors []FieldError

func (q *queryErrors) add(field, msg string) { *q = append(*q, FieldError{Field: field, Message: msg}) }

// answered reports the errors as a 400 problem; true means the caller stops.
func (q queryErrors) answered(c *gin.Context) bool {
	if len(q) == 0 {
		return false
	}
	abortProblem(c, http.StatusBadRequest, "the query has invalid parameters", q...)
	return true
}

func pageSize(c *gin.Context, errs *queryErrors) int {
	raw := c.Query("limit")
	if raw == "" {
		return defaultPageSize
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxPageSize {
		errs.add("limit", fmt.Sprintf("must be an integer from 1 to %d", maxPageSize))
	}
	return n
}

// decodeCursor reads the opaque cursor (base64url JSON) into dst.
func decodeCursor(c *gin.Context, dst any, errs *queryErrors) bool {
	raw := c.Query("cursor")
	if raw == "" {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err == nil {
		err = json.Unmarshal(b, dst)
	}
	if err != nil {
		errs.add("cursor", "is not a cursor returned by this list")
		return false
	}
	return true
}

func encodeCursor(v any) *string {
	b, _ := json.Marshal(v) // cursors are plain structs; Marshal cannot fail
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}

// orderCursor is the last row of a page under the list's sort: pages go by
// (sort column, id), so a new order never shifts the pages after a cursor.
// Sort is empty for the default, newest first, as in cursors made before
// lists could be sorted.
type orderCursor struct {
	Sort     string    `json:"s,omitempty"`
	PlacedAt time.Time `json:"t,omitzero"`
	Total    int64     `json:"n,omitempty"`
	Name     string    `json:"nm,omitempty"`
	ID       uuid.UUID `json:"id"`
}

// orderSort is the order of a list: a column of orders_view, ascending or
// descending, ties broken by id in the same direction.
type orderSort struct {
	column string
	desc   bool
}

var orderSortColumns = []string{"placed_at", "total", "name"}

// defaultOrderSort is newest first.
var defaultOrderSort = orderSort{column: "placed_at", desc: true}

func (o orderSort) String() string {
	if o.desc {
		return "-" + o.column
	}
	return o.column
}

// parseOrderSort reads sort=<column> (ascending) or sort=-<column>.
func parseOrderSort(raw string, errs *queryErrors) orderSort {
	if raw == "" {
		return defaultOrderSort
	}
	column, desc := strings.CutPrefix(raw, "-")
	if !slices.Contains(orderSortColumns, column) {
		errs.add("sort", "must be one of "+strings.Join(orderSortColumns, ", ")+", each optionally prefixed with - for descending")
		return defaultOrderSort
	}
	return orderSort{column: column, desc: desc}
}

// after is the keyset condition for the rows after cursor under o.
func (o orderSort) after(cur orderCursor) (cond string, value any) {
	op := ">"
	if o.desc {
		op = "<"
	}
	value = map[string]any{"placed_at": cur.PlacedAt, "total": cur.Total, "name": cur.Name}[o.column]
	return "(" + o.column + ", id) " + op + " (?, ?)", value
}

// cursor is the cursor after row o.
func (o orderSort) cursor(row orderSummary) *string {
	cur := orderCursor{ID: row.ID}
	if o != defaultOrderSort {
		cur.Sort = o.String()
	}
	switch o.column {
	case "placed_at":
		cur.PlacedAt = row.PlacedAt
	case "total":
		cur.Total = row.Total
	case "name":
		cur.Name = row.Name
	}
	return encodeCursor(cur)
}

func (o orderSort) orderBy() string {
	dir := " ASC"
	if o.desc {
		dir = " DESC"
	}
	return o.column + dir + ", id" + dir
}

// orderList is a parsed list request.
type orderList struct {
	filter    sqlFilter // the filters and the cursor
	count     sqlFilter // the filters alone, for the total
	sort      orderSort
	limit     int
	withTotal bool
}

// sqlFilter builds a WHERE clause with numbered arguments.
type sqlFilter struct {
	where []string
	args  []any
}

func (f *sqlFilter) add(cond string, args ...any) {
	for _, a := range args {
		f.args = append(f.args, a)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(f.args)), 1)
	}
	f.where = append(f.where, cond)
}

func (f *sqlFilter) sql() string { return strings.Join(f.where, " AND ") }

var (
	orderStatuses = []string{
		string(domain.StatusPlaced), string(domain.StatusPaid), string(domain.StatusPartiallyFulfilled),
		string(domain.StatusFulfilled), string(domain.StatusCancelled), string(domain.StatusPartiallyRefunded),
		string(domain.StatusRefunded),
	}
	financialStatuses   = names(domain.FinancialStatuses)
	fulfillmentStatuses = names(domain.FulfillmentStatuses)
)

func names[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// likeEscaper makes a search term match literally inside ILIKE '%…%'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// orderListQuery reads the list's query string; ok is false when it answered 400.
func orderListQuery(c *gin.Context, shop string) (l orderList, ok bool) {
	var errs queryErrors
	l.limit = pageSize(c, &errs)
	l.sort = parseOrderSort(c.Query("sort"), &errs)
	switch c.Query("include_total") {
	case "", "false":
	case "true":
		l.withTotal = true
	default:
		errs.add("include_total", "must be true or false")
	}
	f := &l.filter
	f.add("shop = ?", shop)
	f.where = append(f.where, "NOT deleted") // deleted in Shopify: hidden, history kept
	for _, e := range []struct {
		param, column string
		allowed       []string
	}{
		{"status", "status", orderStatuses},
		{"financial_status", "financial_status", financialStatuses},
		{"fulfillment_status", "fulfillment_status", fulfillmentStatuses},
	} {
		v := c.Query(e.param)
		if v == "" {
			continue
		}
		if !slices.Contains(e.allowed, v) {
			errs.add(e.param, "must be one of "+strings.Join(e.allowed, ", "))
			continue
		}
		f.add(e.column+" = ?", v)
	}
	for _, e := range []struct{ param, op string }{{"created_from", ">="}, {"created_to", "<"}} {
		v := c.Query(e.param)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			errs.add(e.param, "must be an RFC 3339 timestamp like 2024-05-01T00:00:00Z")
			continue
		}
		f.add("placed_at "+e.op+" ?", t)
	}
	if q := strings.TrimSpace(c.Query("q")); q != "" {
		if len(q) > 200 {
			errs.add("q", "must be at most 200 characters")
		}
		pattern := "%" + likeEscaper.Replace(q) + "%"
		f.add("(name ILIKE ? OR email ILIKE ? OR customer_name ILIKE ?)", pattern, pattern, pattern)
	}
	l.count = sqlFilter{where: slices.Clone(f.where), args: slices.Clone(f.args)}
	var cur orderCursor
	if decodeCursor(c, &cur, &errs) {
		// A cursor holds the value of its own sort's column only.
		if sort := cmp.Or(cur.Sort, defaultOrderSort.String()); sort != l.sort.String() {
			errs.add("cursor", "was returned for sort="+sort+"; pass the same sort with it")
		} else {
			cond, value := l.sort.after(cur)
			f.add(cond, value, cur.ID)
		}
	}
	return l, !errs.answered(c)
}

// queryOrders reads one page of orders in the list's sort, and the total
// when asked.
func (s *server) queryOrders(ctx context.Context, l orderList) (page[orderSummary], error) {
	rows, err := s.ReadPool.Query(ctx, `SELECT `+orderColumns+` FROM orders_view WHERE `+l.filter.sql()+`
		ORDER BY `+l.sort.orderBy()+` LIMIT `+strconv.Itoa(l.limit+1), l.filter.args...)
	if err != nil {
		return page[orderSummary]{}, fmt.Errorf("list orders: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (orderSummary, error) { return scanOrder(row) })
	if err != nil {
		return page[orderSummary]{}, fmt.Errorf("list orders: %w", err)
	}
	p := page[orderSummary]{Items: items}
	if len(items) > l.limit {
		p.Items = items[:l.limit]
		p.NextCursor = l.sort.cursor(p.Items[l.limit-1])
	}
	if l.withTotal {
		var n int64
		if err := s.ReadPool.QueryRow(ctx, `SELECT count(*) FROM orders_view WHERE `+l.count.sql(), l.count.args...).Scan(&n); err != nil {
			return page[orderSummary]{}, fmt.Errorf("count orders: %w", err)
		}
		p.Total = &n
	}
	return p, nil
}
