package api_test

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

// TestOrderSortingAndTotal walks every sort, both ways, page by page: each
// lists every order once in the sort's order (ties by id), and include_total
// counts them on every page. Every answer is checked against openapi.yaml.
func TestOrderSortingAndTotal(t *testing.T) {
	e, _ := newContractEnv(t)
	owner := e.UserToken(t, "sorting.myshopify.com", domain.RoleOwner)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var (
		placed []orderOut
		last   string
	)
	// Names, totals and times in different orders, with a shared name and a
	// shared total so that ties must go by id.
	for i, spec := range []struct {
		name  string
		price int64
		hours int
	}{
		{"#1004", 900, 3}, {"#1001", 300, 5}, {"#1003", 1500, 1}, {"#1007", 300, 2},
		{"#1002", 4200, 7}, {"#1003", 800, 4}, {"#1005", 50, 6},
	} {
		o := placeOrder(t, e, owner, map[string]any{
			"name": spec.name, "email": fmt.Sprintf("s%d@example.com", i), "currency": "EUR",
			"placed_at": base.Add(time.Duration(spec.hours) * time.Hour),
			"lines":     []map[string]any{{"sku": "SKU-1", "title": "Mug", "quantity": 1, "unit_price": spec.price}},
		})
		placed, last = append(placed, o), o.Position
	}

	for _, sort := range []string{"placed_at", "-placed_at", "total", "-total", "name", "-name", ""} {
		column, desc := strings.CutPrefix(cmp.Or(sort, "-placed_at"), "-")
		want := slices.Clone(placed)
		slices.SortFunc(want, func(a, b orderOut) int {
			c := map[string]int{
				"placed_at": a.PlacedAt.Compare(b.PlacedAt), "total": cmp.Compare(a.Total, b.Total),
				"name": strings.Compare(a.Name, b.Name),
			}[column]
			c = cmp.Or(c, strings.Compare(a.ID, b.ID))
			if desc {
				return -c
			}
			return c
		})
		var got []orderOut
		query := "limit=3&include_total=true&sort=" + sort
		for pages := 1; ; pages++ {
			p := listOrdersWithTotal(t, e, owner, query, last)
			if p.Total == nil || *p.Total != int64(len(placed)) {
				t.Errorf("sort %q, page %d: total %v, want %d", sort, pages, p.Total, len(placed))
			}
			got = append(got, p.Items...)
			if p.NextCursor == nil || pages > len(placed) {
				break
			}
			query = "limit=3&include_total=true&sort=" + sort + "&cursor=" + url.QueryEscape(*p.NextCursor)
		}
		if ids := orderIDs(got); !slices.Equal(ids, orderIDs(want)) {
			t.Errorf("sort %q: %v, want %v", sort, ids, orderIDs(want))
		}
	}

	// Without include_total there is no total; invalid parameters are a 400
	// that names them, including a cursor used with another sort.
	if p := listOrdersWithTotal(t, e, owner, "limit=2", last); p.Total != nil {
		t.Errorf("total %d without include_total", *p.Total)
	}
	byTotal := listOrdersWithTotal(t, e, owner, "limit=2&sort=total", last)
	for query, field := range map[string]string{
		"sort=price":        "sort",
		"sort=--total":      "sort",
		"sort=total,name":   "sort",
		"include_total=yes": "include_total",
		"sort=name&cursor=" + url.QueryEscape(*byTotal.NextCursor): "cursor",
	} {
		p := apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/orders?"+query, owner, nil), http.StatusBadRequest)
		if len(p.Errors) != 1 || p.Errors[0].Field != field {
			t.Errorf("%s: errors %+v, want one about %s", query, p.Errors, field)
		}
	}
}

// TestOrderLookupByNameAndShopifyID fetches orders the way people name them.
func TestOrderLookupByNameAndShopifyID(t *testing.T) {
	e, _ := newContractEnv(t)
	const shop = "lookup.myshopify.com"
	owner := e.UserToken(t, shop, domain.RoleOwner)
	other := e.UserToken(t, "lookup-other.myshopify.com", domain.RoleOwner)

	const shopifyID = 5000000000000000123 // beyond 2^53, as Shopify's are
	id := domain.ShopifyOrderID(shop, shopifyID)
	events, err := domain.PlaceOrder(domain.PlaceOrderCommand{
		OrderID: id, Shop: shop, Name: "#1083", ShopifyID: shopifyID, Source: domain.SourceShopify,
		Email: "sho@example.com", Currency: "EUR", Subtotal: 1200, Total: 1200,
		PlacedAt: time.Now().UTC(), ShopifyUpdatedAt: time.Now().UTC(),
		Lines: []domain.PlacedLine{{ID: "1", SKU: "SKU-1", Title: "Mug", Quantity: 1, UnitPrice: 1200}},
	})
	if err != nil {
		t.Fatal(err)
	}
	encoded, err := eventstore.Encode(shop, eventstore.Metadata{Actor: "test", Source: "test"}, events...)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Platform.Store.Append(context.Background(), domain.OrderStream(id), eventstore.NoStream, encoded...)
	if err != nil {
		t.Fatal(err)
	}
	manual := placeOrder(t, e, owner, map[string]any{"name": "#M-7", "email": "m@example.com", "currency": "EUR",
		"lines": []map[string]any{{"sku": "SKU-1", "title": "Mug", "quantity": 1, "unit_price": 100}}})
	for range 2 {
		placeOrder(t, e, owner, map[string]any{"name": "twice", "email": "t@example.com", "currency": "EUR",
			"lines": []map[string]any{{"sku": "SKU-1", "title": "Mug", "quantity": 1, "unit_price": 100}}})
	}
	// A manual order whose name is another order's Shopify id: the Shopify id wins.
	last := placeOrder(t, e, owner, map[string]any{"name": fmt.Sprint(shopifyID), "email": "n@example.com", "currency": "EUR",
		"lines": []map[string]any{{"sku": "SKU-1", "title": "Mug", "quantity": 1, "unit_price": 100}}})

	for ref, want := range map[string]string{
		"%231083":                 id.String(),
		fmt.Sprint(shopifyID):     id.String(),
		id.String():               id.String(),
		url.PathEscape("#M-7"):    manual.ID,
		url.PathEscape(manual.ID): manual.ID,
	} {
		o, h := freshOrder(t, e, "/api/v1/orders/"+ref, owner, last.Position) // after every write above
		if o.ID != want || h.Get("ETag") != `"1"` {
			t.Errorf("GET /api/v1/orders/%s: order %s (ETag %q), want %s", ref, o.ID, h.Get("ETag"), want)
		}
	}
	apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/orders/twice", owner, nil), http.StatusConflict)
	for _, ref := range []string{"%239999", "12345", "no-such-name"} {
		apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/orders/"+ref, owner, nil), http.StatusNotFound)
	}
	// Another shop's names and ids are not found.
	for _, ref := range []string{"%231083", fmt.Sprint(shopifyID)} {
		apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/orders/"+ref, other, nil), http.StatusNotFound)
	}
}

type orderPageWithTotal struct {
	orderPage
	Total *int64 `json:"total"`
}

func listOrdersWithTotal(t *testing.T, e *apitest.Env, token, query, pos string) orderPageWithTotal {
	t.Helper()
	resp := e.Fresh(t, "/api/v1/orders?"+query, token, pos)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list %q: %d %s", query, resp.StatusCode, apitest.ReadBody(t, resp))
	}
	var p orderPageWithTotal
	apitest.Decode(t, resp, &p)
	return p
}

func orderIDs(orders []orderOut) []string {
	ids := make([]string, len(orders))
	for i, o := range orders {
		ids[i] = o.Name + "/" + o.ID[:8]
	}
	return ids
}
