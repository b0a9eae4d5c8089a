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
func (a *adminAPI) ordersConnection(c fieldCall) (any, []gqlError) {
	shop, args := c.shop, c.args
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
	rows := a.visibleOrders(shop, filters)
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

// visibleOrders are the shop's orders an app sees (created within the read
// window) that match the filter.
func (a *adminAPI) visibleOrders(shop string, filters updatedFilter) []*orderState {
	oldest := a.now().Add(-readWindow)
	var rows []*orderState
	for _, st := range a.orders.list(shop) {
		if !st.created().Before(oldest) && filters.match(st.updated) {
			rows = append(rows, st)
		}
	}
	return rows
}

// ordersCount counts orders as QueryRoot.ordersCount does: exactly up to
// limit (default 10,000), then "at least" the limit.
func (a *adminAPI) ordersCount(c fieldCall) (any, []gqlError) {
	filters, err := parseUpdatedAt(fmt.Sprint(cmp.Or(c.args["query"], "")))
	if err != nil {
		return nil, []gqlError{{Message: err.Error(), Extensions: map[string]string{"code": "BAD_REQUEST"}}}
	}
	limit := 10_000
	if v, given := c.args["limit"]; given && v != nil {
		limit = intArg(v)
	}
	n, precision := len(a.visibleOrders(c.shop, filters)), "EXACT"
	if n > limit {
		n, precision = limit, "AT_LEAST"
	}
	return obj{"count": n, "precision": precision}, nil
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
	return orderObject(&o), nil
}

func gid(kind string, id int64) string {
	return "gid://shopify/" + kind + "/" + strconv.FormatInt(id, 10)
}

// moneyBag is a MoneyBag in the order's currency.
func moneyBag(o *order, amount string) obj {
	return obj{"shopMoney": obj{"amount": amount, "currencyCode": o.Currency}}
}

// orderObject is the GraphQL Order of an order's REST representation.
func orderObject(o *order) obj {
	upper := func(s *string) any {
		if s == nil {
			return nil
		}
		return strings.ToUpper(*s)
	}
	lines := make([]any, len(o.LineItems))
	for i, li := range o.LineItems {
		lines[i] = obj{"node": obj{
			"id": gid("LineItem", li.ID), "sku": li.SKU, "title": li.Title, "variantTitle": li.VariantTitle, "quantity": li.Quantity, "currentQuantity": li.CurrentQuantity,
			"variant":              obj{"id": gid("ProductVariant", li.VariantID)},
			"originalUnitPriceSet": moneyBag(o, li.Price),
		}}
	}
	fulfillments := make([]any, len(o.Fulfillments))
	for i, f := range o.Fulfillments {
		fulfillments[i] = fulfillmentObject(f)
	}
	refunds := make([]any, len(o.Refunds))
	for i, r := range o.Refunds {
		refunds[i] = refundObject(o, r)
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
		"canMarkAsPaid": canMarkAsPaid(o),
		"totalPriceSet": moneyBag(o, o.TotalPrice), "subtotalPriceSet": moneyBag(o, o.SubtotalPrice),
		"currentTotalPriceSet": moneyBag(o, o.CurrentTotalPrice), "currentSubtotalPriceSet": moneyBag(o, o.CurrentSubtotal),
		"totalTaxSet": moneyBag(o, o.TotalTax), "currentTotalTaxSet": moneyBag(o, o.CurrentTax),
		"totalDiscountsSet": moneyBag(o, o.TotalDiscounts), "currentTotalDiscountsSet": moneyBag(o, o.CurrentDiscounts),
		"totalShippingPriceSet": moneyBag(o, o.TotalShipping.ShopMoney.Amount), "currentShippingPriceSet": moneyBag(o, o.CurrentShipping.ShopMoney.Amount),
		"test": o.Test, "note": o.Note, "tags": tagList(o.Tags),
		"customer": customer, "lineItems": obj{"edges": lines, "pageInfo": obj{"hasNextPage": false}},
		"fulfillments": fulfillments, "refunds": refunds,
		"transactions": transactionObjects(o), "fulfillmentOrders": fulfillmentOrders(o),
	}
}

func fulfillmentObject(f fulfillment) obj {
	edges := make([]any, len(f.LineItems))
	for j, l := range f.LineItems {
		edges[j] = obj{"node": obj{"quantity": l.Quantity, "lineItem": obj{"id": gid("LineItem", l.ID), "sku": l.SKU}}}
	}
	var url any
	if f.TrackingURL != "" {
		url = f.TrackingURL
	}
	return obj{
		"id": gid("Fulfillment", f.ID), "name": f.Name, "status": strings.ToUpper(f.Status), "createdAt": f.CreatedAt,
		"trackingInfo":         []any{obj{"company": f.TrackingCompany, "number": f.TrackingNumber, "url": url}},
		"fulfillmentLineItems": obj{"edges": edges, "pageInfo": obj{"hasNextPage": false}},
	}
}

func refundObject(o *order, r refund) obj {
	edges := make([]any, len(r.RefundLineItems))
	for j, l := range r.RefundLineItems {
		edges[j] = obj{"node": obj{"quantity": l.Quantity, "restockType": strings.ToUpper(l.RestockType), "lineItem": obj{"id": gid("LineItem", l.LineItemID)}}}
	}
	var refunded int64
	for _, t := range r.Transactions {
		if t.Kind == "refund" && t.Status == "success" {
			refunded += parseMinor(t.Amount, currencyExp(o.Currency))
		}
	}
	return obj{
		"id": gid("Refund", r.ID), "createdAt": r.CreatedAt, "note": r.Note,
		"totalRefundedSet": moneyBag(o, formatMoney(refunded, currencyExp(o.Currency))),
		"refundLineItems":  obj{"edges": edges, "pageInfo": obj{"hasNextPage": false}},
	}
}

// transactionObjects are Order.transactions: the sale of a paid order (the
// scenarios' orders are paid in one capture) and every refund.
func transactionObjects(o *order) []any {
	txs := []any{}
	if slices.Contains([]string{"paid", "partially_refunded", "refunded"}, o.FinancialStatus) {
		txs = append(txs, obj{"id": gid("OrderTransaction", o.ID), "kind": "SALE", "status": "SUCCESS",
			"gateway": "shopify_payments", "amountSet": moneyBag(o, o.TotalPrice)})
	}
	for _, r := range o.Refunds {
		for _, t := range r.Transactions {
			txs = append(txs, obj{"id": gid("OrderTransaction", t.ID), "kind": strings.ToUpper(t.Kind), "status": strings.ToUpper(t.Status),
				"gateway": t.Gateway, "amountSet": moneyBag(o, t.Amount)})
		}
	}
	return txs
}

// fulfillmentOrders is Order.fulfillmentOrders: the simulator ships every
// order from one location, so it has one fulfilment order, whose id is the
// order's and whose line items' ids are the order lines'.
func fulfillmentOrders(o *order) obj {
	items := make([]any, len(o.LineItems))
	for i, li := range o.LineItems {
		items[i] = obj{"id": gid("FulfillmentOrderLineItem", li.ID), "totalQuantity": li.CurrentQuantity,
			"remainingQuantity": remaining(li), "lineItem": obj{"id": gid("LineItem", li.ID)}}
	}
	return connection([]any{obj{"id": gid("FulfillmentOrder", o.ID), "status": fulfillmentOrderStatus(o), "lineItems": connection(items)}})
}

// connection is a connection holding every node on one page, with both
// its edges and its nodes.
func connection(nodes []any) obj {
	edges := make([]any, len(nodes))
	for i, n := range nodes {
		edges[i] = obj{"node": n}
	}
	return obj{"edges": edges, "nodes": nodes, "pageInfo": obj{"hasNextPage": false, "endCursor": nil}}
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
