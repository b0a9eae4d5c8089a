package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ordermill/ordermill/shopify"
)

// levels are Shopify's available quantities per shop, inventory item and
// location: what inventory_levels/update webhooks told and
// inventoryAdjustQuantities changed since.
type levels struct {
	mu sync.Mutex
	m  map[levelKey]int
}

type levelKey struct {
	shop           string
	item, location int64
}

// recordWebhook keeps the level an inventory_levels/update body states.
func (l *levels) recordWebhook(shop string, body []byte) {
	var lv inventoryLevel
	if json.Unmarshal(body, &lv) != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[levelKey{shop, lv.InventoryItemID, lv.LocationID}] = lv.Available
}

func (a *adminAPI) inventoryAdjustQuantities(c fieldCall) (any, []gqlError) {
	input, _ := c.args["input"].(map[string]any)
	refused := func(errs ...any) (any, []gqlError) {
		return obj{"inventoryAdjustmentGroup": nil, "userErrors": errs}, nil
	}
	name, _ := input["name"].(string)
	reason, _ := input["reason"].(string)
	switch {
	case name != "available":
		// Shopify also adjusts the unavailable quantities; the simulator
		// keeps only what is available to sell.
		return refused(userError("INVALID_QUANTITY_NAME", fmt.Sprintf("The quantity name %q is not supported", name), "input", "name"))
	case !slices.Contains(shopify.AdjustReasons, reason):
		return refused(userError("INVALID_REASON", "The specified reason is invalid.", "input", "reason"))
	}
	changes, _ := input["changes"].([]any)
	type change struct {
		key   levelKey
		delta int
	}
	var todo []change
	for i, ch := range changes {
		m, _ := ch.(map[string]any)
		field := func(f string) []string { return []string{"input", "changes", strconv.Itoa(i), f} }
		item, errs := legacyID(m["inventoryItemId"], "InventoryItem")
		if errs != nil || !slices.ContainsFunc(catalog, func(p product) bool { return p.inventoryItemID == item }) {
			return refused(userError("INVALID_INVENTORY_ITEM", "The specified inventory item could not be found.", field("inventoryItemId")...))
		}
		loc, errs := legacyID(m["locationId"], "Location")
		if errs != nil || !slices.Contains(locations, loc) {
			return refused(userError("INVALID_LOCATION", "The specified location could not be found.", field("locationId")...))
		}
		todo = append(todo, change{levelKey{c.shop, item, loc}, intArg(m["delta"])})
	}
	a.levels.mu.Lock()
	for i, ch := range changes {
		from, given := ch.(map[string]any)["changeFromQuantity"]
		if given && from != nil && intArg(from) != a.levels.m[todo[i].key] {
			a.levels.mu.Unlock()
			return refused(userError("CHANGE_FROM_QUANTITY_STALE", "The quantity has changed since it was read.", "input", "changes", strconv.Itoa(i), "changeFromQuantity"))
		}
	}
	now := a.now().UTC()
	var out []any
	var bodies [][]byte
	for _, ch := range todo {
		a.levels.m[ch.key] += ch.delta
		after := a.levels.m[ch.key]
		out = append(out, obj{"name": "available", "delta": ch.delta, "quantityAfterChange": after,
			"item": obj{"id": gid("InventoryItem", ch.key.item)}, "location": obj{"id": gid("Location", ch.key.location)}})
		bodies = append(bodies, mustJSON(inventoryLevel{InventoryItemID: ch.key.item, LocationID: ch.key.location, Available: after,
			UpdatedAt:         now.Format(time.RFC3339),
			AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/InventoryLevel/%d?inventory_item_id=%d", ch.key.location, ch.key.item)}))
	}
	a.levels.mu.Unlock()
	if a.emit != nil {
		for _, b := range bodies {
			a.emit(c.shop, action{at: now, msgs: []message{{topic: "inventory_levels/update", body: b}}})
		}
	}
	var ref any
	if r, ok := input["referenceDocumentUri"].(string); ok {
		ref = r
	}
	return obj{"inventoryAdjustmentGroup": obj{"id": fmt.Sprintf("gid://shopify/InventoryAdjustmentGroup/%d", now.UnixNano()),
		"createdAt": now.Format(time.RFC3339), "reason": reason, "referenceDocumentUri": ref, "changes": out},
		"userErrors": []any{}}, nil
}
