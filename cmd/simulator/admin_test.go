package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/ordermill/ordermill/shopify"
)

// orderQuery requests 1 + 14 points: the order and up to 14 fulfillments.
const orderQuery = `query($id: ID!) { order(id: $id) { id fulfillments(first: 14) { id status createdAt } } }`

// adminQuery asks for one order's fulfillments and returns the HTTP answer.
func adminQuery(t *testing.T, base, token string, orderID int64, out any) *http.Response {
	t.Helper()
	return adminPost(t, base, token, map[string]any{"query": orderQuery, "variables": map[string]string{"id": fmt.Sprintf("gid://shopify/Order/%d", orderID)}}, out)
}

// adminPost sends one GraphQL request body to the Admin API.
func adminPost(t *testing.T, base, token string, request map[string]any, out any) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/admin/api/2026-10/graphql.json", bytes.NewReader(mustJSON(request)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Access-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp
}

func TestBucket(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newBucket(30, 10, t0)
	for i := range 3 {
		if ok, _ := b.take(t0, 10); !ok {
			t.Fatalf("take %d refused with a full bucket", i)
		}
	}
	if ok, left := b.take(t0, 10); ok || left != 0 {
		t.Fatalf("empty bucket: ok=%v left=%v", ok, left)
	}
	if ok, left := b.take(t0.Add(500*time.Millisecond), 10); ok || left != 5 {
		t.Fatalf("after 0.5s: ok=%v left=%v, want refused with 5", ok, left)
	}
	if ok, left := b.take(t0.Add(time.Second), 10); !ok || left != 0 {
		t.Fatalf("after 1s: ok=%v left=%v, want allowed with 0 left", ok, left)
	}
	if _, left := b.take(t0.Add(time.Hour), 0); left != 30 {
		t.Fatalf("restored to %v, want capped at 30", left)
	}
}

type gqlAnswer struct {
	Data *struct {
		Order *struct {
			ID           string
			Fulfillments []json.RawMessage
		}
	}
	Errors []struct {
		Message    string
		Extensions struct{ Code string }
	}
	Extensions struct {
		Cost struct {
			RequestedQueryCost float64
			ActualQueryCost    *float64
			ThrottleStatus     struct {
				MaximumAvailable   float64
				CurrentlyAvailable int
				RestoreRate        float64
			}
		}
	}
}

func TestAdminAPI(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	sim, base := startSimulator(t, adminConfig{bucketSize: 20, restoreRate: 10}, clock)
	const shop = "delta.myshopify.com"
	p := runParams{Scenario: "orders", Shop: shop, Secret: "s", Seed: 3, Orders: 1}
	d := buildPlan(p).deliveries[0]
	sim.orders.record(shop, d.OrderID, d.state)

	if resp := adminQuery(t, base, "shpat_x", d.OrderID, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unregistered token: %d", resp.StatusCode)
	}
	call(t, "POST", base+"/_sim/shops", map[string]string{"shop": shop, "access_token": "shpat_delta"}, nil)

	var a gqlAnswer
	adminQuery(t, base, "shpat_delta", d.OrderID, &a)
	if a.Data == nil || a.Data.Order == nil || a.Data.Order.ID != fmt.Sprintf("gid://shopify/Order/%d", d.OrderID) || a.Data.Order.Fulfillments == nil {
		t.Fatalf("known order: %+v", a)
	}
	// Requested 15, but the new order has no fulfillments: it costs 1 and 14 come back.
	if c := a.Extensions.Cost; c.RequestedQueryCost != 15 || c.ActualQueryCost == nil || *c.ActualQueryCost != 1 || c.ThrottleStatus.CurrentlyAvailable != 19 {
		t.Fatalf("cost extension: %+v", c)
	}
	a = gqlAnswer{}
	adminQuery(t, base, "shpat_delta", 5_000_000_000_000_000_001, &a)
	if a.Data == nil || a.Data.Order != nil || len(a.Errors) != 0 {
		t.Fatalf("unknown order: %+v", a)
	}

	// The bucket holds 19 of its 20 points: a query requesting 20 waits.
	whole := map[string]any{"query": `query($id: ID!) { order(id: $id) { id fulfillments(first: 19) { id } } }`,
		"variables": map[string]string{"id": fmt.Sprintf("gid://shopify/Order/%d", d.OrderID)}}
	a = gqlAnswer{}
	if resp := adminPost(t, base, "shpat_delta", whole, &a); resp.StatusCode != http.StatusOK || len(a.Errors) != 1 || a.Errors[0].Extensions.Code != "THROTTLED" || a.Data != nil {
		t.Fatalf("throttled: %d %+v", resp.StatusCode, a)
	}
	if c := a.Extensions.Cost; c.RequestedQueryCost != 20 || c.ActualQueryCost != nil || c.ThrottleStatus.CurrentlyAvailable != 19 || c.ThrottleStatus.MaximumAvailable != 20 || c.ThrottleStatus.RestoreRate != 10 {
		t.Fatalf("throttled cost: %+v", c)
	}
	clock.advance(time.Second)
	a = gqlAnswer{}
	if adminPost(t, base, "shpat_delta", whole, &a); len(a.Errors) != 0 {
		t.Fatalf("after restore: %+v", a)
	}

	var f faultsView
	if code := call(t, "POST", base+"/_sim/faults", `{"admin":{"status":429,"count":1,"retry_after_seconds":3}}`, &f); code != http.StatusOK || f.Admin.Remaining != 1 {
		t.Fatalf("set fault: %d %+v", code, f)
	}
	clock.advance(time.Hour)
	if resp := adminQuery(t, base, "shpat_delta", d.OrderID, nil); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("injected 429: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp := adminQuery(t, base, "shpat_delta", d.OrderID, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the fault: %d", resp.StatusCode)
	}

	var calls struct{ Calls []adminCall }
	call(t, "GET", base+"/_sim/admin/calls", nil, &calls)
	var statuses []int
	throttled := 0
	for _, c := range calls.Calls {
		statuses = append(statuses, c.Status)
		if c.Throttled {
			throttled++
		}
	}
	if fmt.Sprint(statuses) != "[401 200 200 200 200 429 200]" || throttled != 1 || calls.Calls[1].Shop != shop || calls.Calls[1].Query != orderQuery {
		t.Fatalf("call log: %v throttled=%d %+v", statuses, throttled, calls.Calls[1])
	}
}

func TestServedVersion(t *testing.T) {
	a := newAdminAPI(adminConfig{versions: []string{"2026-01", "2026-04", "2026-07", "2026-10"}}, newOrderStore(), time.Now)
	for requested, want := range map[string]string{
		"2026-10":  "2026-10",
		"2026-04":  "2026-04",
		"unstable": "unstable",
		"2025-01":  "2026-01", // retired: falls forward to the oldest supported
		"2027-01":  "",        // not released yet
		"2026-05":  "",        // not a release
		"latest":   "",
	} {
		got, ok := a.servedVersion(requested)
		if got != want || ok != (want != "") {
			t.Errorf("%s: served %q (%v), want %q", requested, got, ok, want)
		}
	}
}

// The Admin API runs the operation it is sent: aliases and fragments shape
// the answer, and a document the simulator cannot run is refused with an
// error rather than answered as something else.
func TestAdminAPIRunsTheOperation(t *testing.T) {
	sim, base := startSimulator(t, defaultAdmin, nil)
	const shop = "echo.myshopify.com"
	d := buildPlan(runParams{Scenario: "orders", Shop: shop, Secret: "s", Seed: 3, Orders: 1}).deliveries[0]
	sim.orders.record(shop, d.OrderID, d.state)
	call(t, "POST", base+"/_sim/shops", map[string]string{"shop": shop, "access_token": "shpat_echo"}, nil)
	gid := fmt.Sprintf("gid://shopify/Order/%d", d.OrderID)

	var got struct {
		Data   map[string]map[string]any
		Errors []struct{ Message string }
	}
	adminPost(t, base, "shpat_echo", map[string]any{
		"query":         `query Other { shop { name } } query Mine($id: ID!) { mine: order(id: $id) { ...F } } fragment F on Order { key: id }`,
		"operationName": "Mine", "variables": map[string]string{"id": gid},
	}, &got)
	if len(got.Errors) != 0 || got.Data["mine"]["key"] != gid || len(got.Data["mine"]) != 1 {
		t.Fatalf("aliased fragment: %+v", got)
	}
	for name, req := range map[string]map[string]any{
		"syntax error":       {"query": `query { order(id: "x") {`},
		"unknown root field": {"query": `query { orderz(id: "x") { id } }`},
		"unknown field":      {"query": `query Q($id: ID!) { order(id: $id) { id nope } }`, "variables": map[string]string{"id": gid}},
		"no such operation":  {"query": `query A { order(id: "x") { id } }`, "operationName": "B"},
		"bad global id":      {"query": `query { order(id: "gid://shopify/Product/1") { id } }`},
	} {
		got.Errors = nil
		if resp := adminPost(t, base, "shpat_echo", req, &got); resp.StatusCode != http.StatusOK || len(got.Errors) == 0 {
			t.Errorf("%s: %d %+v, want an error", name, resp.StatusCode, got)
		}
	}
}

func TestQueryCost(t *testing.T) {
	for _, tt := range []struct {
		query          string
		data           obj
		requested, got int
	}{
		{`{ shop { name } }`, obj{"shop": obj{"name": "x"}}, 1, 1},
		{`{ order(id: "x") { id } }`, obj{"order": nil}, 1, 0},
		// 2 for the connection, 10 × (1 for the node + 1 for its lineItem object).
		{`{ orders(first: 10) { edges { node { id lineItem { id } } } pageInfo { hasNextPage } } }`,
			obj{"orders": obj{"edges": []any{obj{"node": obj{"id": "1", "lineItem": obj{"id": "2"}}}}, "pageInfo": obj{"hasNextPage": false}}}, 22, 4},
		{`query($n: Int) { orders(first: $n) { nodes { id } } }`, obj{"orders": obj{"nodes": []any{}}}, 2 + 5, 2},
		{`mutation { orderCancel(orderId: "x") { job { id } } }`, obj{}, 10, 10},
	} {
		op, errs := parseOperation(tt.query, "", map[string]any{"n": float64(5)})
		if errs != nil {
			t.Fatal(errs)
		}
		if r, a := op.requestedCost(), op.actualCost(tt.data); r != tt.requested || a != tt.got {
			t.Errorf("%s: requested %d actual %d, want %d and %d", tt.query, r, a, tt.requested, tt.got)
		}
	}
}

// An inventory item of the catalog names its variant and SKU, the way the
// shopify package asks (InventoryItemVariant); an unknown item is null.
func TestAdminAPIInventoryItem(t *testing.T) {
	_, base := startSimulator(t, defaultAdmin, nil)
	call(t, "POST", base+"/_sim/shops", map[string]string{"shop": "foxtrot.myshopify.com", "access_token": "shpat_fox"}, nil)
	query, err := shopify.Documents.ReadFile("graphql/inventory_item_variant.graphql")
	if err != nil {
		t.Fatal(err)
	}
	ask := func(item int64) map[string]any {
		var got struct {
			Data   struct{ InventoryItem map[string]any }
			Errors []struct{ Message string }
		}
		adminPost(t, base, "shpat_fox", map[string]any{"query": string(query),
			"variables": map[string]string{"id": fmt.Sprintf("gid://shopify/InventoryItem/%d", item)}}, &got)
		if len(got.Errors) > 0 {
			t.Fatalf("item %d: %+v", item, got.Errors)
		}
		return got.Data.InventoryItem
	}
	mug := catalog[2]
	want := map[string]any{"id": fmt.Sprintf("gid://shopify/InventoryItem/%d", mug.inventoryItemID), "variants": map[string]any{
		"nodes": []any{map[string]any{"id": fmt.Sprintf("gid://shopify/ProductVariant/%d", mug.variantID), "sku": mug.sku}}}}
	if got := ask(mug.inventoryItemID); !reflect.DeepEqual(got, want) {
		t.Fatalf("the mug's item: %v, want %v", got, want)
	}
	if got := ask(1); got != nil {
		t.Fatalf("an unknown item: %v, want null", got)
	}
}
