package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
)

// The dashboard's figures come from the read models in SQL, over the whole
// range asked for, never from a page of a list summed in the browser. Money
// is grouped by currency and never added across currencies.

// maxDashboardDays bounds the range one request may aggregate.
const maxDashboardDays = 366

type dashboard struct {
	From              string           `json:"from"`
	To                string           `json:"to"`
	Days              []dashboardDay   `json:"days"`
	Sales             []dashboardSales `json:"sales"`
	AverageOrderValue []dashboardAOV   `json:"average_order_value"`
	TopProducts       []topProduct     `json:"top_products"`
	OpenDeadLetters   int64            `json:"open_dead_letters"`
	Backorders        backorders       `json:"backorders"`
}

// dashboardDay counts what happened on one UTC day of the range.
type dashboardDay struct {
	Date           string `json:"date"`
	Orders         int64  `json:"orders"`
	Webhooks       int64  `json:"webhooks"`
	WebhooksFailed int64  `json:"webhooks_failed"`
}

// dashboardSales is one day's sales in one currency, defined as the sales
// summary report defines them: voided orders left out, refunds netted.
type dashboardSales struct {
	Date             string `json:"date"`
	Currency         string `json:"currency"`
	CurrencyExponent int    `json:"currency_exponent"`
	Orders           int64  `json:"orders"`
	Gross            int64  `json:"gross"`
	Refunded         int64  `json:"refunded"`
	Net              int64  `json:"net"`
}

type dashboardAOV struct {
	Currency         string `json:"currency"`
	CurrencyExponent int    `json:"currency_exponent"`
	Orders           int64  `json:"orders"`
	Total            int64  `json:"total"`
	Average          int64  `json:"average"` // total ÷ orders, rounded half up, in minor units
}

type topProduct struct {
	Title            string `json:"title"`
	SKU              string `json:"sku"`
	InventoryKey     string `json:"inventory_key"`
	Currency         string `json:"currency"`
	CurrencyExponent int    `json:"currency_exponent"`
	Units            int64  `json:"units"`
	Revenue          int64  `json:"revenue"`
}

type backorders struct {
	Items int64 `json:"items"`
	Units int64 `json:"units"`
}

// dashboardRange reads from and to (inclusive UTC dates, default the last 30
// days up to today); ok is false when it answered 400.
func dashboardRange(c *gin.Context, now time.Time) (from, to time.Time, ok bool) {
	var errs queryErrors
	today := now.UTC().Truncate(24 * time.Hour)
	to, from = today, today.AddDate(0, 0, -29)
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		v := c.Query(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			errs.add(p.name, "must be a date like 2024-05-01")
			continue
		}
		*p.dst = t
	}
	if len(errs) == 0 && to.Before(from) {
		errs.add("to", "must not be before from")
	}
	if len(errs) == 0 && to.Sub(from) >= maxDashboardDays*24*time.Hour {
		errs.add("to", fmt.Sprintf("the range may span at most %d days", maxDashboardDays))
	}
	return from, to, !errs.answered(c)
}

func (s *server) getDashboard(c *gin.Context) {
	from, to, ok := dashboardRange(c, time.Now())
	if !ok {
		return
	}
	d, err := s.queryDashboard(c.Request.Context(), principalFrom(c).Shop, from, to)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

// queryDashboard aggregates the shop's read models over [from, to+1 day).
func (s *server) queryDashboard(ctx context.Context, shop string, from, to time.Time) (dashboard, error) {
	end := to.AddDate(0, 0, 1)
	d := dashboard{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly)}
	b := &pgx.Batch{}
	b.Queue(`SELECT to_char(day, 'YYYY-MM-DD'),
			(SELECT count(*) FROM orders_view o WHERE o.shop = $1 AND o.placed_at >= day AND o.placed_at < day + interval '1 day'),
			(SELECT count(*) FROM webhooks_view w WHERE w.shop = $1 AND w.received_at >= day AND w.received_at < day + interval '1 day'),
			(SELECT count(*) FROM webhooks_view w WHERE w.shop = $1 AND w.received_at >= day AND w.received_at < day + interval '1 day'
				AND w.status = 'failed')
		FROM generate_series($2::timestamptz, $3::timestamptz - interval '1 day', interval '1 day') AS day
		ORDER BY day`, shop, from, end).Query(func(rows pgx.Rows) error {
		var err error
		d.Days, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (dashboardDay, error) {
			var x dashboardDay
			return x, row.Scan(&x.Date, &x.Orders, &x.Webhooks, &x.WebhooksFailed)
		})
		return err
	})
	b.Queue(`SELECT to_char((placed_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD'), currency,
			count(*), sum(total)::bigint, sum(refunded)::bigint
		FROM orders_view
		WHERE shop = $1 AND placed_at >= $2 AND placed_at < $3 AND financial_status <> $4
		GROUP BY 1, 2 ORDER BY 1, 2`, shop, from, end, domain.FinancialVoided).Query(func(rows pgx.Rows) error {
		var err error
		d.Sales, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (dashboardSales, error) {
			var x dashboardSales
			err := row.Scan(&x.Date, &x.Currency, &x.Orders, &x.Gross, &x.Refunded)
			x.CurrencyExponent = domain.CurrencyExponent(x.Currency)
			x.Net = x.Gross - x.Refunded
			return x, err
		})
		return err
	})
	b.Queue(`SELECT currency, count(*), sum(total)::bigint, round(avg(total))::bigint
		FROM orders_view
		WHERE shop = $1 AND placed_at >= $2 AND placed_at < $3 AND financial_status <> $4
		GROUP BY currency ORDER BY count(*) DESC, currency`, shop, from, end, domain.FinancialVoided).Query(func(rows pgx.Rows) error {
		var err error
		d.AverageOrderValue, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (dashboardAOV, error) {
			var x dashboardAOV
			err := row.Scan(&x.Currency, &x.Orders, &x.Total, &x.Average)
			x.CurrencyExponent = domain.CurrencyExponent(x.Currency)
			return x, err
		})
		return err
	})
	// Units sold net of refunds, in the range's orders that were not voided.
	b.Queue(`SELECT l.title, l.sku, l.inventory_key, o.currency,
			sum(l.quantity - l.refunded_quantity)::bigint AS units,
			sum((l.quantity - l.refunded_quantity)::bigint * l.unit_price)::bigint
		FROM order_lines_view l JOIN orders_view o ON o.id = l.order_id
		WHERE o.shop = $1 AND l.shop = $1 AND o.placed_at >= $2 AND o.placed_at < $3 AND o.financial_status <> $4
		GROUP BY l.title, l.sku, l.inventory_key, o.currency
		HAVING sum(l.quantity - l.refunded_quantity) > 0
		ORDER BY units DESC, l.title, o.currency LIMIT 10`, shop, from, end, domain.FinancialVoided).Query(func(rows pgx.Rows) error {
		var err error
		d.TopProducts, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (topProduct, error) {
			var x topProduct
			err := row.Scan(&x.Title, &x.SKU, &x.InventoryKey, &x.Currency, &x.Units, &x.Revenue)
			x.CurrencyExponent = domain.CurrencyExponent(x.Currency)
			return x, err
		})
		return err
	})
	b.Queue(`SELECT count(*) FROM dead_letters WHERE shop = $1 AND requeued_at IS NULL`, shop).
		QueryRow(func(row pgx.Row) error { return row.Scan(&d.OpenDeadLetters) })
	b.Queue(`SELECT count(*), coalesce(sum(backordered), 0)::bigint FROM inventory_view WHERE shop = $1 AND backordered > 0`, shop).
		QueryRow(func(row pgx.Row) error { return row.Scan(&d.Backorders.Items, &d.Backorders.Units) })
	if err := s.ReadPool.SendBatch(ctx, b).Close(); err != nil {
		return dashboard{}, fmt.Errorf("dashboard of %s: %w", shop, err)
	}
	return d, nil
}
