package main

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// readWindow is how far back an app without the read_all_orders scope sees
// orders: Shopify's default of 60 days by creation date.
const readWindow = 60 * 24 * time.Hour

// orders lists a shop's orders as QueryRoot.orders does, for the arguments
// the reconciliation job uses: first, after, sortKey UPDATED_AT and a query
// of updated_at comparisons (>=, >, <=, <).
func (a *adminAPI) ordersConnection(shop string, args map[string]any) (any, []gqlError) {
	first := 50
	if n, ok := args["first"].(int64); ok {
		first = int(n)
	} else if n, ok := args["first"].(float64); ok {
		first = int(n)
	}
	if first < 1 || first > 250 {
		return nil, []gqlError{{Message: "first must be between 1 and 250", Extensions: map[string]string{"code": "BAD_REQUEST"}}}
	}
	filters, err := parseUpdatedAt(fmt.Sprint(cmp.Or(args["query"], "")))
	if err != nil {
		return nil, []gqlError{{Message: err.Error(), Extensions: map[string]string{"code": "BAD_REQUEST"}}}
	}
	if key, _ := args["sortKey"].(string); key != "" && key != "UPDATED_AT" {
		return nil, []gqlError{{Message: "the simulator sorts orders by UPDATED_AT only"}}
	}
	after := ""
	if s, ok := args["after"].(string); ok {
		after = s
	}
	oldest := a.now().Add(-readWindow)
	var rows []*orderState
	for _, st := range a.orders.list(shop) {
		if !st.created().Before(oldest) && filters.match(st.updated) {
			rows = append(rows, st)
		}
	}
	slices.SortFunc(rows, func(x, y *orderState) int {
		return cmp.Or(x.updated.Compare(y.updated), cmp.Compare(x.expected.ShopifyID, y.expected.ShopifyID))
	})
	if after != "" {
		i := slices.IndexFunc(rows, func(st *orderState) bool { return cursor(st) == after })
		if i < 0 {
			return nil, []gqlError{{Message: "Invalid cursor for current pagination sort.", Extensions: map[string]string{"code": "BAD_REQUEST"}}}
		}
		rows = rows[i+1:]
	}
	page := rows[:min(first, len(rows))]
	edges := make([]any, len(page))
	end := any(nil)
	for i, st := range page {
		node, errs := orderNode(st)
		if errs != nil {
			return nil, errs
		}
		edges[i] = obj{"cursor": cursor(st), "node": node}
		end = cursor(st)
	}
	return obj{"edges": edges, "pageInfo": obj{"hasNextPage": len(rows) > len(page), "endCursor": end}}, nil
}

func cursor(st *orderState) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d:%d", st.updated.UnixNano(), st.expected.ShopifyID))
}

// updatedFilter is the updated_at part of an orders search query.
type updatedFilter []struct {
	op string
	at time.Time
}

var updatedTerm = regexp.MustCompile(`^updated_at:(>=|<=|>|<)?['"]?([^'"]+)['"]?$`)

func parseUpdatedAt(query string) (updatedFilter, error) {
	var f updatedFilter
	for term := range strings.FieldsSeq(query) {
		if strings.EqualFold(term, "AND") {
			continue
		}
		m := updatedTerm.FindStringSubmatch(term)
		if m == nil {
			return nil, fmt.Errorf("the simulator filters orders by updated_at only, not %q", term)
		}
		at, err := time.Parse(time.RFC3339, m[2])
		if err != nil {
			return nil, fmt.Errorf("updated_at %q is not an ISO 8601 time", m[2])
		}
		f = append(f, struct {
			op string
			at time.Time
		}{cmp.Or(m[1], ">="), at})
	}
	return f, nil
}

func (f updatedFilter) match(t time.Time) bool {
	for _, c := range f {
		ok := map[string]bool{">=": !t.Before(c.at), ">": t.After(c.at), "<=": !t.After(c.at), "<": t.Before(c.at)}[c.op]
		if !ok {
			return false
		}
	}
	return true
}

// orderNode is the GraphQL Order for the snapshot the simulator last sent.
func orderNode(st *orderState) (obj, []gqlError) {
	var o order
	if err := json.Unmarshal(st.snapshot, &o); err != nil {
		return nil, []gqlError{{Message: "simulator: stored order: " + err.Error()}}
	}
	money := func(amount string) obj {
		return obj{"shopMoney": obj{"amount": amount, "currencyCode": o.Currency}}
	}
	gid := func(kind string, id int64) string { return "gid://shopify/" + kind + "/" + strconv.FormatInt(id, 10) }
	upper := func(s *string) any {
		if s == nil {
			return nil
		}
		return strings.ToUpper(*s)
	}
	lines := make([]any, len(o.LineItems))
	for i, li := range o.LineItems {
		lines[i] = obj{"node": obj{
			"id": gid("LineItem", li.ID), "sku": li.SKU, "title": li.Title, "quantity": li.Quantity, "currentQuantity": li.CurrentQuantity,
			"variant":              obj{"id": gid("ProductVariant", li.VariantID)},
			"originalUnitPriceSet": money(li.Price),
		}}
	}
	fulfillments := make([]any, len(o.Fulfillments))
	for i, f := range o.Fulfillments {
		edges := make([]any, len(f.LineItems))
		for j, l := range f.LineItems {
			edges[j] = obj{"node": obj{"quantity": l.Quantity, "lineItem": obj{"id": gid("LineItem", l.ID), "sku": l.SKU}}}
		}
		fulfillments[i] = obj{
			"id": gid("Fulfillment", f.ID), "status": strings.ToUpper(f.Status), "createdAt": f.CreatedAt,
			"fulfillmentLineItems": obj{"edges": edges, "pageInfo": obj{"hasNextPage": false}},
		}
	}
	refunds := make([]any, len(o.Refunds))
	for i, r := range o.Refunds {
		edges := make([]any, len(r.RefundLineItems))
		for j, l := range r.RefundLineItems {
			edges[j] = obj{"node": obj{"quantity": l.Quantity, "restockType": strings.ToUpper(l.RestockType),
				"lineItem": obj{"id": gid("LineItem", l.LineItemID)}}}
		}
		var refunded int64
		for _, t := range r.Transactions {
			if t.Kind == "refund" && t.Status == "success" {
				refunded += parseMinor(t.Amount, currencyExp(o.Currency))
			}
		}
		refunds[i] = obj{
			"id": gid("Refund", r.ID), "createdAt": r.CreatedAt,
			"totalRefundedSet": money(formatMoney(refunded, currencyExp(o.Currency))),
			"refundLineItems":  obj{"edges": edges, "pageInfo": obj{"hasNextPage": false}},
		}
	}
	var customer any
	if o.Customer.ID != 0 {
		customer = obj{"id": gid("Customer", o.Customer.ID), "firstName": o.Customer.FirstName, "lastName": o.Customer.LastName,
			"defaultEmailAddress": obj{"emailAddress": o.Customer.Email}}
	}
	fulfillment := "UNFULFILLED"
	if o.FulfillmentStatus != nil {
		fulfillment = map[string]string{"partial": "PARTIALLY_FULFILLED", "fulfilled": "FULFILLED", "restocked": "RESTOCKED"}[*o.FulfillmentStatus]
	}
	return obj{
		"id": gid("Order", o.ID), "legacyResourceId": strconv.FormatInt(o.ID, 10), "name": o.Name, "email": o.Email,
		"currencyCode": o.Currency, "createdAt": o.CreatedAt, "updatedAt": o.UpdatedAt,
		"cancelledAt": o.CancelledAt, "cancelReason": upper(o.CancelReason),
		"displayFinancialStatus": strings.ToUpper(o.FinancialStatus), "displayFulfillmentStatus": fulfillment,
		"totalPriceSet": money(o.TotalPrice), "subtotalPriceSet": money(o.SubtotalPrice),
		"currentTotalPriceSet": money(o.CurrentTotalPrice), "currentSubtotalPriceSet": money(o.CurrentSubtotal),
		"test": o.Test, "note": o.Note, "tags": tagList(o.Tags),
		"customer": customer, "lineItems": obj{"edges": lines, "pageInfo": obj{"hasNextPage": false}},
		"fulfillments": fulfillments, "refunds": refunds,
	}, nil
}

// tagList is Order.tags: the REST body's comma-separated tags as a list.
func tagList(tags string) []string {
	list := []string{}
	for _, t := range strings.Split(tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			list = append(list, t)
		}
	}
	return list
}

// currencyExp is the number of decimals of a currency the simulator sends.
func currencyExp(code string) int {
	for _, c := range currencies {
		if c.code == code {
			return c.exp
		}
	}
	return 2
}

// parseMinor reads a decimal string the simulator wrote with formatMoney.
func parseMinor(s string, exp int) int64 {
	whole, frac, _ := strings.Cut(s, ".")
	frac = (frac + strings.Repeat("0", exp))[:exp]
	n, _ := strconv.ParseInt(whole+frac, 10, 64)
	return n
}

// list returns a shop's orders.
func (s *orderStore) list(shop string) []*orderState {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*orderState
	for k, st := range s.orders {
		if k.shop == shop {
			out = append(out, st)
		}
	}
	return out
}

// created is when Shopify created the order.
func (st *orderState) created() time.Time {
	var o struct {
		CreatedAt time.Time `json:"created_at"`
	}
	_ = json.Unmarshal(st.snapshot, &o)
	return o.CreatedAt
}
