package testenv

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/internal/simexpect"
)

// SimRun is the simulator's GET /_sim/runs/{id}: the run's progress, every
// delivery with its outcome, and the orders' expected final state.
type SimRun struct {
	ID           string        `json:"id"`
	Status       string        `json:"status"`
	Total        int           `json:"total"`
	Sent         int           `json:"sent"`
	Acknowledged int           `json:"acknowledged"`
	Unexpected   int           `json:"unexpected"`
	Dropped      int           `json:"dropped"`
	Deliveries   []SimDelivery `json:"deliveries"`
	Expected     struct {
		Orders []ExpectedOrder `json:"orders"`
	} `json:"expected"`
	// Shopify is every order as Shopify holds it when the run ends, what
	// the webhooks missed included: what reconciliation converges to.
	Shopify struct {
		Orders []ExpectedOrder `json:"orders"`
	} `json:"shopify"`
}

// SimDelivery is one webhook POST the simulator made (or will make).
type SimDelivery struct {
	WebhookID      string `json:"webhook_id"`
	EventID        string `json:"event_id"`
	Topic          string `json:"topic"`
	Shop           string `json:"shop"`
	TriggeredAt    string `json:"triggered_at"`
	HMAC           string `json:"hmac"`
	Body           []byte `json:"body"`
	Bad            bool   `json:"bad"`
	Fault          string `json:"fault"`
	Duplicate      bool   `json:"duplicate"`
	Late           bool   `json:"late"`
	Dropped        bool   `json:"dropped"`
	ExpectedStatus int    `json:"expected_status"`
	Status         int    `json:"status"`
	Error          string `json:"error"`
}

// ExpectedOrder is an order's final state as the simulator's scenario left it.
type ExpectedOrder = simexpect.Order

// CompareOrders describes the first differences between orders_view (with
// its lines) and the expected orders; "" means they match exactly.
func CompareOrders(ctx context.Context, t testing.TB, pool *pgxpool.Pool, shop string, want []ExpectedOrder) string {
	var diffs []string
	perOrder := OrderDiffs(ctx, t, pool, shop, want)
	if n := countOrders(ctx, t, pool, shop); n != len(want) {
		diffs = append(diffs, fmt.Sprintf("%d orders in orders_view, want %d", n, len(want)))
	}
	for _, w := range want {
		if d, ok := perOrder[w.ShopifyID]; ok {
			diffs = append(diffs, d)
		}
		if len(diffs) > 5 {
			break
		}
	}
	if len(diffs) == 0 {
		return ""
	}
	return fmt.Sprint(diffs)
}

func countOrders(ctx context.Context, t testing.TB, pool *pgxpool.Pool, shop string) (n int) {
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM orders_view WHERE shop = $1`, shop).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// OrderDiffs compares orders_view and order_lines_view with the expected
// orders and says, per Shopify order id, what differs; orders that match
// are absent.
func OrderDiffs(ctx context.Context, t testing.TB, pool *pgxpool.Pool, shop string, want []ExpectedOrder) map[int64]string {
	type line struct {
		sku                           string
		variant, price                int64
		quantity, original, fulfilled int
	}
	type order struct {
		name, currency, financial, fulfillment string
		total, originalTotal, refunded         int64
		cancelled, test, deleted               bool
		money                                  simexpect.Money
		lines                                  map[string]line
	}
	got := map[int64]*order{}
	// The column or totals key that shows each of Shopify's figures: the
	// current ones are the order's own, those before returns and refunds are "original_".
	rows, err := pool.Query(ctx, `SELECT shopify_id, name, currency, total, refunded, financial_status, fulfillment_status,
		cancelled_at IS NOT NULL, test, deleted, (totals->>'original_total')::bigint, subtotal, paid,
		(totals->>'original_subtotal')::bigint, (totals->>'original_tax')::bigint, (totals->>'tax')::bigint,
		(totals->>'original_discounts')::bigint, (totals->>'discounts')::bigint,
		(totals->>'original_shipping')::bigint, (totals->>'shipping')::bigint
		FROM orders_view WHERE shop = $1`, shop)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		o := &order{lines: map[string]line{}}
		m := &o.money
		if err := rows.Scan(&id, &o.name, &o.currency, &o.total, &o.refunded, &o.financial, &o.fulfillment, &o.cancelled, &o.test, &o.deleted, &o.originalTotal,
			&m.CurrentSubtotal, &m.Paid, &m.Subtotal, &m.Tax, &m.CurrentTax, &m.Discounts, &m.CurrentDiscounts, &m.Shipping, &m.CurrentShipping); err != nil {
			t.Fatal(err)
		}
		got[id] = o
	}
	rows, err = pool.Query(ctx, `SELECT o.shopify_id, l.line_id, l.sku, coalesce(l.variant_id, 0), l.quantity, l.original_quantity, l.fulfilled_quantity,
		l.unit_price
		FROM order_lines_view l JOIN orders_view o ON o.id = l.order_id WHERE o.shop = $1`, shop)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var (
			id  int64
			lid string
			l   line
		)
		if err := rows.Scan(&id, &lid, &l.sku, &l.variant, &l.quantity, &l.original, &l.fulfilled, &l.price); err != nil {
			t.Fatal(err)
		}
		if o := got[id]; o != nil {
			o.lines[lid] = l
		}
	}
	diffs := map[int64]string{}
	for _, w := range want {
		var d []string
		g := got[w.ShopifyID]
		if g == nil {
			diffs[w.ShopifyID] = fmt.Sprintf("order %d missing", w.ShopifyID)
			continue
		}
		fulfillment := "unfulfilled"
		if w.FulfillmentStatus != nil {
			fulfillment = *w.FulfillmentStatus
		}
		exp := order{name: w.Name, currency: w.Currency, financial: w.FinancialStatus, fulfillment: fulfillment,
			total: w.CurrentTotal, originalTotal: w.Total, refunded: w.Refunded, cancelled: w.Cancelled, test: w.Test, deleted: w.Deleted, money: w.Money}
		if g.name != exp.name || g.currency != exp.currency || g.financial != exp.financial || g.fulfillment != exp.fulfillment ||
			g.total != exp.total || g.originalTotal != exp.originalTotal || g.refunded != exp.refunded || g.cancelled != exp.cancelled || g.test != exp.test || g.deleted != exp.deleted ||
			g.money != exp.money {
			d = append(d, fmt.Sprintf("order %d: got %+v, want %+v", w.ShopifyID, *g, exp))
		}
		if len(g.lines) != len(w.Lines) {
			d = append(d, fmt.Sprintf("order %d: %d lines, want %d", w.ShopifyID, len(g.lines), len(w.Lines)))
		}
		for _, wl := range w.Lines {
			sku := ""
			if wl.SKU != nil {
				sku = *wl.SKU
			}
			want := line{sku: sku, variant: wl.VariantID, price: wl.Price, quantity: wl.CurrentQuantity, original: wl.Quantity,
				fulfilled: wl.FulfilledQuantity}
			if gl := g.lines[strconv.FormatInt(wl.ID, 10)]; gl != want {
				d = append(d, fmt.Sprintf("order %d line %d: got %+v, want %+v", w.ShopifyID, wl.ID, gl, want))
			}
		}
		if len(d) > 0 {
			diffs[w.ShopifyID] = strings.Join(d, "; ")
		}
	}
	return diffs
}
