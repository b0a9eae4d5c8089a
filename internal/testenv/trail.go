package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// OrderTrail tells one Shopify order's story for a failed comparison: the
// simulator's deliveries that name it (with their faults and outcomes), the
// events Ordermill stored for it, and its webhooks' outcomes.
func OrderTrail(ctx context.Context, t testing.TB, pool *pgxpool.Pool, shop string, shopifyID int64, runs []SimRun) string {
	var b strings.Builder
	id := strconv.FormatInt(shopifyID, 10)
	fmt.Fprintf(&b, "order %d\n  deliveries:\n", shopifyID)
	for _, r := range runs {
		for _, d := range r.Deliveries {
			if !bytes.Contains(d.Body, []byte(id)) {
				continue
			}
			var body struct {
				ID, OrderID                  json.Number
				UpdatedAt, CreatedAt, Status string
				FinancialStatus              string `json:"financial_status"`
				FulfillmentStatus            string `json:"fulfillment_status"`
			}
			_ = json.Unmarshal(d.Body, &body)
			fmt.Fprintf(&b, "    %s %s bad=%v fault=%q dup=%v late=%v dropped=%v status=%d/%d body{id=%s updated=%s created=%s fin=%s ful=%s}\n",
				d.TriggeredAt, d.Topic, d.Bad, d.Fault, d.Duplicate, d.Late, d.Dropped, d.Status, d.ExpectedStatus,
				body.ID, body.UpdatedAt, body.CreatedAt, body.FinancialStatus, body.FulfillmentStatus)
		}
	}
	b.WriteString("  events:\n")
	rows, err := pool.Query(ctx, `SELECT e.stream_version, e.event_type, left(e.data::text, 400) FROM events e
		JOIN orders_view o ON e.stream_id = 'order-' || o.id::text WHERE o.shop = $1 AND o.shopify_id = $2
		ORDER BY e.stream_version`, shop, shopifyID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int
		var typ, data string
		if err := rows.Scan(&v, &typ, &data); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "    %d %s %s\n", v, typ, data)
	}
	b.WriteString("  webhooks:\n")
	rows, err = pool.Query(ctx, `SELECT w.received_at::text, w.topic, w.status, w.result, w.error FROM webhooks_view w
		JOIN orders_view o ON o.id = w.order_id WHERE o.shop = $1 AND o.shopify_id = $2 ORDER BY w.received_at`, shop, shopifyID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var at, topic, status, result, e string
		if err := rows.Scan(&at, &topic, &status, &result, &e); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "    %s %s %s %s %s\n", at, topic, status, result, e)
	}
	return b.String()
}
