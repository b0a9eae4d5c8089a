package shopify

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

var ordersUpdatedSinceQuery = document("orders_updated_since")

// OrdersPage is one page of orders updated since a time, oldest change first.
type OrdersPage struct {
	// Orders are webhook-shaped order bodies (the REST representation an
	// orders/updated webhook carries), so they are read like one.
	Orders []json.RawMessage
	// UpdatedAt is each order's updated_at, in the same order.
	UpdatedAt []time.Time
	// Truncated counts orders with more lines, fulfillments or refunds than
	// the query asks for; they are left out rather than sent incomplete.
	Truncated int
	// After is the cursor of the next page; empty on the last one.
	After string
}

type gqlMoney struct {
	ShopMoney struct {
		Amount string `json:"amount"`
	} `json:"shopMoney"`
}

type gqlPageInfo struct {
	HasNextPage bool   `json:"hasNextPage"`
	EndCursor   string `json:"endCursor"`
}

type gqlOrder struct {
	ID                       string    `json:"id"`
	Name                     string    `json:"name"`
	Email                    *string   `json:"email"`
	CurrencyCode             string    `json:"currencyCode"`
	CreatedAt                string    `json:"createdAt"`
	UpdatedAt                time.Time `json:"updatedAt"`
	CancelledAt              *string   `json:"cancelledAt"`
	CancelReason             *string   `json:"cancelReason"`
	DisplayFinancialStatus   *string   `json:"displayFinancialStatus"`
	DisplayFulfillmentStatus string    `json:"displayFulfillmentStatus"`
	TotalPriceSet            gqlMoney  `json:"totalPriceSet"`
	SubtotalPriceSet         *gqlMoney `json:"subtotalPriceSet"`
	CurrentTotalPriceSet     *gqlMoney `json:"currentTotalPriceSet"`
	CurrentSubtotalPriceSet  *gqlMoney `json:"currentSubtotalPriceSet"`
	TotalTaxSet              *gqlMoney `json:"totalTaxSet"`
	CurrentTotalTaxSet       *gqlMoney `json:"currentTotalTaxSet"`
	TotalDiscountsSet        *gqlMoney `json:"totalDiscountsSet"`
	CurrentTotalDiscountsSet *gqlMoney `json:"currentTotalDiscountsSet"`
	TotalShippingPriceSet    *gqlMoney `json:"totalShippingPriceSet"`
	CurrentShippingPriceSet  *gqlMoney `json:"currentShippingPriceSet"`
	Test                     bool      `json:"test"`
	Note                     *string   `json:"note"`
	Tags                     []string  `json:"tags"`
	Customer                 *struct {
		ID                  string  `json:"id"`
		FirstName           *string `json:"firstName"`
		LastName            *string `json:"lastName"`
		DefaultEmailAddress *struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"defaultEmailAddress"`
	} `json:"customer"`
	LineItems struct {
		Edges []struct {
			Node struct {
				ID           string  `json:"id"`
				SKU          *string `json:"sku"`
				Title        string  `json:"title"`
				VariantTitle *string `json:"variantTitle"`
				Quantity     int     `json:"quantity"`
				// CurrentQuantity is after edits and refunds (REST current_quantity).
				CurrentQuantity int `json:"currentQuantity"`
				Variant         *struct {
					ID string `json:"id"`
				} `json:"variant"`
				OriginalUnitPriceSet gqlMoney `json:"originalUnitPriceSet"`
			} `json:"node"`
		} `json:"edges"`
		PageInfo gqlPageInfo `json:"pageInfo"`
	} `json:"lineItems"`
	Fulfillments []struct {
		ID           string `json:"id"`
		Status       string `json:"status"`
		CreatedAt    string `json:"createdAt"`
		TrackingInfo []struct {
			Company *string `json:"company"`
			Number  *string `json:"number"`
			URL     *string `json:"url"`
		} `json:"trackingInfo"`
		FulfillmentLineItems gqlQuantityConn `json:"fulfillmentLineItems"`
	} `json:"fulfillments"`
	Refunds []struct {
		ID               string          `json:"id"`
		CreatedAt        string          `json:"createdAt"`
		Note             *string         `json:"note"`
		TotalRefundedSet gqlMoney        `json:"totalRefundedSet"`
		RefundLineItems  gqlQuantityConn `json:"refundLineItems"`
	} `json:"refunds"`
}

// gqlQuantityConn is a connection of (line item, quantity) pairs.
type gqlQuantityConn struct {
	Edges []struct {
		Node struct {
			Quantity int `json:"quantity"`
			// RestockType is set on refund line items only (RETURN, CANCEL, …).
			RestockType string `json:"restockType"`
			LineItem    struct {
				ID string `json:"id"`
			} `json:"lineItem"`
		} `json:"node"`
	} `json:"edges"`
	PageInfo gqlPageInfo `json:"pageInfo"`
}

// Sizes of the document's nested lists; an order that fills one may have more.
const (
	pageFulfillments = 3
	pageRefunds      = 3
)

// OrdersUpdatedSince returns the page of a shop's orders updated at or after
// since that follows the cursor after ("" for the first page). Shopify
// answers only the last 60 days of orders without the read_all_orders scope.
func (c *AdminClient) OrdersUpdatedSince(ctx context.Context, shop, token string, since time.Time, after string) (OrdersPage, error) {
	var data struct {
		Orders struct {
			Edges []struct {
				Node gqlOrder `json:"node"`
			} `json:"edges"`
			PageInfo gqlPageInfo `json:"pageInfo"`
		} `json:"orders"`
	}
	vars := map[string]any{"query": updatedSince(since)}
	if after != "" {
		vars["after"] = after
	}
	if err := c.query(ctx, shop, token, "OrdersUpdatedSince", ordersUpdatedSinceQuery, vars, &data); err != nil {
		return OrdersPage{}, err
	}
	var page OrdersPage
	if data.Orders.PageInfo.HasNextPage {
		page.After = data.Orders.PageInfo.EndCursor
	}
	for _, e := range data.Orders.Edges {
		body, complete, err := e.Node.webhookBody()
		if err != nil {
			return OrdersPage{}, &AdminError{Shop: shop, Status: http.StatusOK, Message: err.Error(), kind: ErrAdminBadResponse}
		}
		if !complete {
			page.Truncated++
			continue
		}
		page.Orders = append(page.Orders, body)
		page.UpdatedAt = append(page.UpdatedAt, e.Node.UpdatedAt)
	}
	return page, nil
}

// restID is the numeric id of a global id as the REST representation
// writes it, kept as a JSON number's digits; 0 when absent.
func restID(gid, kind string) json.Number {
	id, ok := legacyID(gid, kind)
	if !ok {
		return "0"
	}
	return json.Number(strconv.FormatInt(id, 10))
}

// webhookBody writes the order as the REST body of an orders/updated
// webhook. complete is false when a nested list did not fit the query.
func (o gqlOrder) webhookBody() (body json.RawMessage, complete bool, err error) {
	// Order.fulfillments and Order.refunds are plain lists: only one shorter
	// than asked for is known to be whole.
	if o.LineItems.PageInfo.HasNextPage || len(o.Fulfillments) >= pageFulfillments || len(o.Refunds) >= pageRefunds {
		return nil, false, nil
	}
	lower := func(s *string) *string {
		if s == nil {
			return nil
		}
		l := strings.ToLower(*s)
		return &l
	}
	type line struct {
		ID        json.Number `json:"id"`
		VariantID json.Number `json:"variant_id"`
		SKU       *string     `json:"sku"`
		Title     string      `json:"title"`
		Variant   *string     `json:"variant_title"`
		Quantity  int         `json:"quantity"`
		Current   int         `json:"current_quantity"`
		Price     string      `json:"price"`
	}
	type qty struct {
		ID          json.Number `json:"id,omitempty"`
		LineItemID  json.Number `json:"line_item_id,omitempty"`
		Quantity    int         `json:"quantity"`
		RestockType string      `json:"restock_type,omitempty"`
	}
	type fulfillment struct {
		ID              json.Number `json:"id"`
		Status          string      `json:"status"`
		CreatedAt       string      `json:"created_at"`
		TrackingCompany *string     `json:"tracking_company"`
		TrackingNumbers []string    `json:"tracking_numbers"`
		TrackingURLs    []string    `json:"tracking_urls"`
		LineItems       []qty       `json:"line_items"`
	}
	type transaction struct {
		Amount string `json:"amount"`
		Kind   string `json:"kind"`
		Status string `json:"status"`
	}
	type refund struct {
		ID              json.Number   `json:"id"`
		CreatedAt       string        `json:"created_at"`
		Note            *string       `json:"note"`
		Transactions    []transaction `json:"transactions"`
		RefundLineItems []qty         `json:"refund_line_items"`
	}
	rest := map[string]any{
		"id": restID(o.ID, "Order"), "name": o.Name, "email": o.Email, "currency": o.CurrencyCode,
		"created_at": o.CreatedAt, "updated_at": o.UpdatedAt.Format(time.RFC3339Nano),
		"cancelled_at": o.CancelledAt, "cancel_reason": lower(o.CancelReason),
		"financial_status": lower(o.DisplayFinancialStatus), "fulfillment_status": fulfillmentStatus[o.DisplayFulfillmentStatus],
		"total_price": o.TotalPriceSet.ShopMoney.Amount,
		"test":        o.Test, "note": o.Note, "tags": strings.Join(o.Tags, ", "),
	}
	for key, m := range map[string]*gqlMoney{"subtotal_price": o.SubtotalPriceSet,
		"current_total_price": o.CurrentTotalPriceSet, "current_subtotal_price": o.CurrentSubtotalPriceSet,
		"total_tax": o.TotalTaxSet, "current_total_tax": o.CurrentTotalTaxSet,
		"total_discounts": o.TotalDiscountsSet, "current_total_discounts": o.CurrentTotalDiscountsSet} {
		if m != nil {
			rest[key] = m.ShopMoney.Amount
		}
	}
	// REST has shipping only as MoneyBags (shop and customer currency).
	for key, m := range map[string]*gqlMoney{"total_shipping_price_set": o.TotalShippingPriceSet,
		"current_shipping_price_set": o.CurrentShippingPriceSet} {
		if m != nil {
			rest[key] = map[string]any{"shop_money": map[string]any{"amount": m.ShopMoney.Amount}}
		}
	}
	if c := o.Customer; c != nil {
		cust := map[string]any{"id": restID(c.ID, "Customer"), "first_name": c.FirstName, "last_name": c.LastName}
		if c.DefaultEmailAddress != nil {
			cust["email"] = c.DefaultEmailAddress.EmailAddress
		}
		rest["customer"] = cust
	}
	lines := []line{}
	for _, e := range o.LineItems.Edges {
		n := e.Node
		l := line{ID: restID(n.ID, "LineItem"), VariantID: "0", SKU: n.SKU, Title: n.Title, Variant: n.VariantTitle, Quantity: n.Quantity, Current: n.CurrentQuantity, Price: n.OriginalUnitPriceSet.ShopMoney.Amount}
		if n.Variant != nil {
			l.VariantID = restID(n.Variant.ID, "ProductVariant")
		}
		lines = append(lines, l)
	}
	rest["line_items"] = lines
	fulfillments := []fulfillment{}
	for _, f := range o.Fulfillments {
		if f.FulfillmentLineItems.PageInfo.HasNextPage {
			return nil, false, nil
		}
		ff := fulfillment{ID: restID(f.ID, "Fulfillment"), Status: strings.ToLower(f.Status), CreatedAt: f.CreatedAt,
			TrackingNumbers: []string{}, TrackingURLs: []string{}, LineItems: []qty{}}
		for _, t := range f.TrackingInfo {
			if ff.TrackingCompany == nil {
				ff.TrackingCompany = t.Company
			}
			if t.Number != nil && *t.Number != "" {
				ff.TrackingNumbers = append(ff.TrackingNumbers, *t.Number)
			}
			if t.URL != nil && *t.URL != "" {
				ff.TrackingURLs = append(ff.TrackingURLs, *t.URL)
			}
		}
		for _, e := range f.FulfillmentLineItems.Edges {
			ff.LineItems = append(ff.LineItems, qty{ID: restID(e.Node.LineItem.ID, "LineItem"), Quantity: e.Node.Quantity})
		}
		fulfillments = append(fulfillments, ff)
	}
	rest["fulfillments"] = fulfillments
	refunds := []refund{}
	for _, r := range o.Refunds {
		if r.RefundLineItems.PageInfo.HasNextPage {
			return nil, false, nil
		}
		rf := refund{ID: restID(r.ID, "Refund"), CreatedAt: r.CreatedAt, Note: r.Note, Transactions: []transaction{}, RefundLineItems: []qty{}}
		if amount := r.TotalRefundedSet.ShopMoney.Amount; amount != "" && strings.Trim(amount, "0.") != "" {
			rf.Transactions = append(rf.Transactions, transaction{Amount: amount, Kind: "refund", Status: "success"})
		}
		for _, e := range r.RefundLineItems.Edges {
			rf.RefundLineItems = append(rf.RefundLineItems, qty{LineItemID: restID(e.Node.LineItem.ID, "LineItem"), Quantity: e.Node.Quantity,
				RestockType: strings.ToLower(e.Node.RestockType)})
		}
		refunds = append(refunds, rf)
	}
	rest["refunds"] = refunds
	body, err = json.Marshal(rest)
	return body, true, err
}

// fulfillmentStatus maps Order.displayFulfillmentStatus to the REST
// fulfillment_status; unfulfilled and the in-between states are null there.
var fulfillmentStatus = map[string]any{
	"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial", "RESTOCKED": "restocked",
}

var ordersCountQuery = document("orders_count")

// OrdersCount is how many of a shop's orders were updated at or after
// since; exact is false when Shopify stopped counting at its limit.
func (c *AdminClient) OrdersCount(ctx context.Context, shop, token string, since time.Time) (n int64, exact bool, err error) {
	var data struct {
		OrdersCount struct {
			Count     int64  `json:"count"`
			Precision string `json:"precision"`
		} `json:"ordersCount"`
	}
	vars := map[string]any{"query": updatedSince(since)}
	if err := c.query(ctx, shop, token, "OrdersCount", ordersCountQuery, vars, &data); err != nil {
		return 0, false, err
	}
	return data.OrdersCount.Count, data.OrdersCount.Precision == "EXACT", nil
}

// updatedSince is the orders search query for orders updated at or after since.
func updatedSince(since time.Time) string {
	return "updated_at:>='" + since.UTC().Format(time.RFC3339) + "'"
}

// legacyID takes the numeric id out of a global id like gid://shopify/Order/123.
func legacyID(gid, kind string) (int64, bool) {
	n, ok := strings.CutPrefix(gid, "gid://shopify/"+kind+"/")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(n, 10, 64)
	return id, err == nil && id > 0
}
