package api

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ordermill/ordermill/domain"
)

// ordersCSVHeader names the columns of the orders export. Amounts are decimal
// strings in the order's currency, as its ISO 4217 exponent writes them.
var ordersCSVHeader = []string{"name", "placed_at", "customer_name", "email", "currency", "subtotal", "total",
	"paid", "refunded", "status", "financial_status", "fulfillment_status", "item_count", "shopify_id", "id"}

// exportOrders streams every order that matches the list's filters
// (GET /orders's status, dates and search; not its page or cursor) as CSV,
// in the list's sort.
func (s *server) exportOrders(c *gin.Context) {
	shop := principalFrom(c).Shop
	if c.Query("cursor") != "" {
		abortProblem(c, http.StatusBadRequest, "the query has invalid parameters",
			FieldError{Field: "cursor", Message: "the export holds every matching order; drop the cursor"})
		return
	}
	l, ok := orderListQuery(c, shop)
	if !ok {
		return
	}
	clear := principalFrom(c).Role.Can(domain.PermReadCustomers)
	ctx := c.Request.Context()
	rows, err := s.ReadPool.Query(ctx, `SELECT `+orderColumns+` FROM orders_view WHERE `+l.count.sql()+`
		ORDER BY `+l.sort.orderBy(), l.count.args...)
	if err != nil {
		s.problemFromError(c, fmt.Errorf("export orders: %w", err))
		return
	}
	defer rows.Close()
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="orders-`+shop+`.csv"`)
	w := csv.NewWriter(s.download(c))
	err = w.Write(ordersCSVHeader)
	for err == nil && rows.Next() {
		var o orderSummary
		if o, err = scanOrder(rows); err != nil {
			break
		}
		err = w.Write(orderCSVRecord(o, clear))
	}
	if err == nil {
		err = rows.Err()
	}
	if err == nil {
		w.Flush()
		err = w.Error()
	}
	if err != nil {
		s.Logger.ErrorContext(ctx, "orders export failed", "err", err, "request_id", c.GetString("request_id"))
		// The status line went out with the header: cut the connection so the
		// client sees an incomplete download rather than a short file.
		if conn, _, herr := c.Writer.Hijack(); herr == nil {
			conn.Close()
		}
	}
}

// orderCSVRecord is one order's row; without PermReadCustomers the email is masked.
func orderCSVRecord(o orderSummary, clear bool) []string {
	money := func(minor int64) string {
		return domain.Money{Amount: minor, Currency: o.Currency}.Decimal()
	}
	email := o.Email
	if !clear {
		email = maskEmail(email)
	}
	shopifyID := ""
	if o.ShopifyID != nil {
		shopifyID = *o.ShopifyID
	}
	return []string{csvSafe(o.Name), o.PlacedAt.Format(time.RFC3339), csvSafe(o.CustomerName), csvSafe(email),
		o.Currency, money(o.Subtotal), money(o.Total), money(o.Paid), money(o.Refunded), o.Status,
		o.FinancialStatus, o.FulfillmentStatus, strconv.Itoa(o.ItemCount), shopifyID, o.ID.String()}
}

// csvSafe keeps a spreadsheet from running a cell a customer typed as a
// formula (=, +, -, @ at the start).
func csvSafe(v string) string {
	if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@') {
		return "'" + v
	}
	return v
}
