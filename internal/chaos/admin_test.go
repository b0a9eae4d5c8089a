package chaos_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/internal/testenv"
)

// withAdminFulfillments brings expected orders up to what the simulator's
// Admin API says was shipped. The scenario's expected state counts only
// validly delivered webhooks, but reconciliation reads the Admin
// API — Shopify's truth — which also knows shipments whose webhook the
// scenario made bad. Only orders whose shipped quantities differ are asked.
func withAdminFulfillments(ctx context.Context, t *testing.T, pool *pgxpool.Pool, sim *testenv.Simulator,
	shop, token string, expected []testenv.ExpectedOrder) {
	t.Helper()
	shipped := map[int64]map[int64]int{} // shopify order id → line id → fulfilled, as stored
	rows, err := pool.Query(ctx, `SELECT o.shopify_id, l.line_id, l.fulfilled_quantity
		FROM order_lines_view l JOIN orders_view o ON o.id = l.order_id WHERE o.shop = $1`, shop)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var (
			order int64
			line  string
			n     int
		)
		if err := rows.Scan(&order, &line, &n); err != nil {
			t.Fatal(err)
		}
		var id int64
		fmt.Sscan(line, &id)
		if shipped[order] == nil {
			shipped[order] = map[int64]int{}
		}
		shipped[order][id] = n
	}
	for i := range expected {
		o := &expected[i]
		same := true
		for _, l := range o.Lines {
			same = same && shipped[o.ShopifyID][l.ID] == l.FulfilledQuantity
		}
		if same {
			continue
		}
		admin := adminShipped(t, sim, token, o.ShopifyID)
		var total, done int
		for j := range o.Lines {
			l := &o.Lines[j]
			l.FulfilledQuantity = max(l.FulfilledQuantity, admin[l.ID])
			total += l.Quantity
			done += l.FulfilledQuantity
		}
		var status *string
		switch {
		case done >= total && total > 0:
			status = ptr("fulfilled")
		case done > 0:
			status = ptr("partial")
		}
		o.FulfillmentStatus = status
	}
}

func ptr(s string) *string { return &s }

// adminShipped asks the simulator's Admin API (as the worker does) how much
// of each line of an order was shipped, waiting out its leaky bucket.
func adminShipped(t *testing.T, sim *testenv.Simulator, token string, order int64) map[int64]int {
	t.Helper()
	query := `query($id: ID!) { order(id: $id) { id fulfillments { id status createdAt
		fulfillmentLineItems(first: 50) { edges { node { lineItem { id sku } quantity } } } } } }`
	body, _ := json.Marshal(map[string]any{"query": query, "variables": map[string]string{"id": fmt.Sprintf("gid://shopify/Order/%d", order)}})
	for attempt := 0; attempt < 50; attempt++ {
		req, _ := http.NewRequest(http.MethodPost, sim.URL+"/admin/api/2025-01/graphql.json", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Shopify-Access-Token", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Data struct {
				Order *struct {
					Fulfillments []struct {
						Status string `json:"status"`
						Lines  struct {
							Edges []struct {
								Node struct {
									LineItem struct{ ID string } `json:"lineItem"`
									Quantity int                 `json:"quantity"`
								} `json:"node"`
							} `json:"edges"`
						} `json:"fulfillmentLineItems"`
					} `json:"fulfillments"`
				} `json:"order"`
			} `json:"data"`
			Errors []struct{ Message string } `json:"errors"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Errors) > 0 || resp.StatusCode == http.StatusTooManyRequests {
			time.Sleep(300 * time.Millisecond) // throttled
			continue
		}
		shipped := map[int64]int{}
		if out.Data.Order == nil {
			return shipped
		}
		for _, f := range out.Data.Order.Fulfillments {
			if !strings.EqualFold(f.Status, "success") {
				continue
			}
			for _, e := range f.Lines.Edges {
				var id int64
				fmt.Sscan(strings.TrimPrefix(e.Node.LineItem.ID, "gid://shopify/LineItem/"), &id)
				shipped[id] += e.Node.Quantity
			}
		}
		return shipped
	}
	t.Fatalf("the simulator's Admin API kept throttling order %d", order)
	return nil
}
