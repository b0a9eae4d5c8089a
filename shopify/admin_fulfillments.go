package shopify

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// AdminFulfillment is one fulfillment as the Admin API reports it, with
// Shopify's numeric ids (the ones webhooks carry) taken out of the global ids.
type AdminFulfillment struct {
	ID        int64
	Status    string // SUCCESS, CANCELLED, ERROR, FAILURE, OPEN, PENDING
	CreatedAt time.Time
	Lines     []AdminFulfillmentLine
}

// AdminFulfillmentLine is the number of units of one order line item.
type AdminFulfillmentLine struct {
	LineItemID int64
	SKU        string
	Quantity   int
}

// Successful reports whether the goods left: only those fulfillments move
// orders and stock.
func (f AdminFulfillment) Successful() bool { return f.Status == "SUCCESS" }

// orderFulfillmentsQuery asks for what the fulfillment sync records.
var orderFulfillmentsQuery = document("order_fulfillments")

type gqlFulfillments struct {
	Order *struct {
		Fulfillments []struct {
			ID                   string    `json:"id"`
			Status               string    `json:"status"`
			CreatedAt            time.Time `json:"createdAt"`
			FulfillmentLineItems struct {
				Edges []struct {
					Node struct {
						Quantity int `json:"quantity"`
						LineItem struct {
							ID  string  `json:"id"`
							SKU *string `json:"sku"`
						} `json:"lineItem"`
					} `json:"node"`
				} `json:"edges"`
			} `json:"fulfillmentLineItems"`
		} `json:"fulfillments"`
	} `json:"order"`
}

// OrderFulfillments returns the fulfillments of a Shopify order. found is
// false when the shop has no such order.
func (c *AdminClient) OrderFulfillments(ctx context.Context, shop, token string, orderID int64) (fs []AdminFulfillment, found bool, err error) {
	var data gqlFulfillments
	vars := map[string]any{"id": "gid://shopify/Order/" + strconv.FormatInt(orderID, 10)}
	if err := c.query(ctx, shop, token, "OrderFulfillments", orderFulfillmentsQuery, vars, &data); err != nil {
		return nil, false, err
	}
	if data.Order == nil {
		return nil, false, nil
	}
	bad := func(format string, args ...any) error {
		return &AdminError{Shop: shop, Status: http.StatusOK, Message: fmt.Sprintf(format, args...), kind: ErrAdminBadResponse}
	}
	for _, f := range data.Order.Fulfillments {
		id, ok := legacyID(f.ID, "Fulfillment")
		if !ok {
			return nil, false, bad("fulfillment id %q", f.ID)
		}
		out := AdminFulfillment{ID: id, Status: f.Status, CreatedAt: f.CreatedAt.UTC()}
		for _, e := range f.FulfillmentLineItems.Edges {
			li, ok := legacyID(e.Node.LineItem.ID, "LineItem")
			if !ok {
				return nil, false, bad("line item id %q", e.Node.LineItem.ID)
			}
			l := AdminFulfillmentLine{LineItemID: li, Quantity: e.Node.Quantity}
			if e.Node.LineItem.SKU != nil {
				l.SKU = *e.Node.LineItem.SKU
			}
			out.Lines = append(out.Lines, l)
		}
		fs = append(fs, out)
	}
	return fs, true, nil
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
