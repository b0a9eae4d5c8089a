package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

type inventoryOut struct {
	Key         string `json:"key"`
	OnHand      int    `json:"on_hand"`
	Reserved    int    `json:"reserved"`
	Available   int    `json:"available"`
	Backordered int    `json:"backordered"`
	Version     int64  `json:"version"`
	Position    string `json:"position"`
}

func expectInventory(t *testing.T, e *apitest.Env, method, path, token string, body any, status int, headers ...string) inventoryOut {
	t.Helper()
	resp := e.Do(t, method, path, token, body, headers...)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, status, apitest.ReadBody(t, resp))
	}
	var out inventoryOut
	apitest.Decode(t, resp, &out)
	return out
}

func TestInventoryAdjustAndCount(t *testing.T) {
	e, _ := newContractEnv(t)
	shop := "stock.myshopify.com"
	staff := e.UserToken(t, shop, domain.RoleStaff)
	path := "/api/v1/inventory/MUG-1"

	apitest.Problem(t, e.Do(t, http.MethodGet, path, staff, nil), http.StatusNotFound)
	got := expectInventory(t, e, http.MethodPost, path+"/adjust", staff, map[string]any{"delta": 10, "reason": "received"}, http.StatusOK)
	if got.OnHand != 10 || got.Available != 10 || got.Version != 1 || got.Position == "" {
		t.Fatalf("after adjust: %+v", got)
	}
	got = expectInventory(t, e, http.MethodPost, path+"/count", staff, map[string]any{"on_hand": 7, "reason": "cycle count"},
		http.StatusOK, "If-Match", `"1"`)
	if got.OnHand != 7 || got.Version != 2 {
		t.Fatalf("after count: %+v", got)
	}
	apitest.Problem(t, e.Do(t, http.MethodPost, path+"/count", staff, map[string]any{"on_hand": 1, "reason": "late"},
		"If-Match", `"1"`), http.StatusPreconditionFailed)

	for _, c := range []struct {
		cmd   string
		body  map[string]any
		field string
	}{
		{"adjust", map[string]any{"delta": -8, "reason": "lost"}, "delta"},
		{"adjust", map[string]any{"delta": 0, "reason": "nothing"}, "delta"},
		{"adjust", map[string]any{"delta": 1, "reason": " "}, "reason"},
		{"count", map[string]any{"on_hand": -1, "reason": "count"}, "on_hand"},
		{"count", map[string]any{"reason": "count"}, "on_hand"},
	} {
		p := apitest.Problem(t, e.Do(t, http.MethodPost, path+"/"+c.cmd, staff, c.body), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Field != c.field {
			t.Errorf("%s %v: errors %+v, want one for %s", c.cmd, c.body, p.Errors, c.field)
		}
	}
	apitest.Problem(t, e.Do(t, http.MethodPost, path+"/adjust", staff, map[string]any{"delta": "ten", "reason": "x"}), http.StatusBadRequest)

	var read inventoryOut
	apitest.Decode(t, e.Fresh(t, path, staff, got.Position), &read)
	if read.OnHand != 7 || read.Version != 2 {
		t.Fatalf("read model after count: %+v", read)
	}

	// Listing: by key, paginated, filtered on backorders; other shops see nothing.
	var last inventoryOut
	for _, key := range []string{"A-1", "B-1", "C-1"} {
		last = expectInventory(t, e, http.MethodPost, "/api/v1/inventory/"+key+"/adjust", staff,
			map[string]any{"delta": 1, "reason": "received"}, http.StatusOK)
	}
	var keys []string
	query := "limit=2"
	for {
		resp := e.Fresh(t, "/api/v1/inventory?"+query, staff, last.Position)
		var page struct {
			Items      []inventoryOut `json:"items"`
			NextCursor *string        `json:"next_cursor"`
		}
		apitest.Decode(t, resp, &page)
		for _, it := range page.Items {
			keys = append(keys, it.Key)
		}
		if page.NextCursor == nil {
			break
		}
		query = "limit=2&cursor=" + *page.NextCursor
	}
	if got := strings.Join(keys, ","); got != "A-1,B-1,C-1,MUG-1" {
		t.Fatalf("listed %s", got)
	}
	resp := e.Do(t, http.MethodGet, "/api/v1/inventory?backordered=true", staff, nil)
	var backordered struct{ Items []inventoryOut }
	apitest.Decode(t, resp, &backordered)
	if len(backordered.Items) != 0 {
		t.Fatalf("backordered: %+v", backordered.Items)
	}
	apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/inventory?backordered=maybe", staff, nil), http.StatusBadRequest)

	stranger := e.UserToken(t, "other-stock.myshopify.com", domain.RoleOwner)
	apitest.Problem(t, e.Do(t, http.MethodGet, path, stranger, nil, "X-Min-Position", got.Position), http.StatusNotFound)
}

// An item is named by the order line that sold it, and its history is its
// stream told as changes, newest first, with who made each.
func TestInventoryTitleAndHistory(t *testing.T) {
	e, _ := newContractEnv(t)
	shop := "stock-history.myshopify.com"
	owner := e.UserToken(t, shop, domain.RoleOwner)
	order := sampleOrder("history@example.com") // SKU-1 is a "Mug"
	order["lines"].([]map[string]any)[0]["variant_title"] = "Cobalt / 350 ml"
	placeOrder(t, e, owner, order)
	expectInventory(t, e, http.MethodPost, "/api/v1/inventory/SKU-1/adjust", owner, map[string]any{"delta": 10, "reason": "received"}, http.StatusOK)
	got := expectInventory(t, e, http.MethodPost, "/api/v1/inventory/SKU-1/count", owner, map[string]any{"on_hand": 7, "reason": "cycle count"}, http.StatusOK)

	var item struct {
		inventoryOut
		Title        string `json:"title"`
		VariantTitle string `json:"variant_title"`
		SKU          string `json:"sku"`
		Locations    []any  `json:"locations"`
	}
	apitest.Decode(t, e.Fresh(t, "/api/v1/inventory/SKU-1", owner, got.Position), &item)
	if item.Title != "Mug" || item.VariantTitle != "Cobalt / 350 ml" || item.SKU != "SKU-1" || item.OnHand != 7 || item.Locations == nil {
		t.Fatalf("item: %+v", item)
	}

	type change struct {
		Version   int64  `json:"version"`
		Kind      string `json:"kind"`
		Quantity  int    `json:"quantity"`
		Reason    string `json:"reason"`
		Actor     string `json:"actor"`
		ActorName string `json:"actor_name"`
	}
	var changes []change
	query := "limit=1"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("the history does not end")
		}
		var p struct {
			Items      []change `json:"items"`
			NextCursor *string  `json:"next_cursor"`
		}
		resp := e.Do(t, http.MethodGet, "/api/v1/inventory/SKU-1/history?"+query, owner, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("history: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
		}
		apitest.Decode(t, resp, &p)
		changes = append(changes, p.Items...)
		if p.NextCursor == nil {
			break
		}
		query = "limit=1&cursor=" + *p.NextCursor
	}
	if len(changes) != 2 ||
		changes[0] != (change{Version: 2, Kind: "counted", Quantity: 7, Reason: "cycle count", Actor: changes[0].Actor, ActorName: changes[0].ActorName}) ||
		changes[1] != (change{Version: 1, Kind: "adjusted", Quantity: 10, Reason: "received", Actor: changes[1].Actor, ActorName: changes[1].ActorName}) {
		t.Fatalf("history: %+v", changes)
	}
	if !strings.HasPrefix(changes[0].Actor, "user:") || changes[0].ActorName == "" {
		t.Fatalf("the count is not named after its user: %+v", changes[0])
	}
	apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/inventory/NOPE/history", owner, nil), http.StatusNotFound)
	stranger := e.UserToken(t, "other-history.myshopify.com", domain.RoleOwner)
	apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/inventory/SKU-1/history", stranger, nil), http.StatusNotFound)
}
