package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
)

// The mutations a merchant's actions on a Shopify order become. Each
// answers the order as Shopify has it afterwards, webhook-shaped like
// OrdersPage's bodies, so it is applied as a snapshot: the webhooks that
// follow carry the same updated_at and add nothing. A refusal is a
// UserErrors error naming Shopify's reasons.

// ShopAdmin is the Admin API of one shop with its access token: the calls a
// merchant's actions in the app become.
type ShopAdmin struct {
	c           *AdminClient
	shop, token string
}

// For returns the Admin API of shop, called with token.
func (c *AdminClient) For(shop, token string) ShopAdmin {
	return ShopAdmin{c: c, shop: shop, token: token}
}

var (
	orderSnapshotQuery          = document("order_snapshot")
	orderCancelMutation         = document("order_cancel")
	orderMarkAsPaidMutation     = document("order_mark_as_paid")
	orderUpdateMutation         = document("order_update")
	orderTransactionsQuery      = document("order_transactions")
	refundCreateMutation        = document("refund_create")
	orderFulfillmentOrdersQuery = document("order_fulfillment_orders")
	fulfillmentCreateMutation   = document("fulfillment_create")
	inventoryAdjustMutation     = document("inventory_adjust_quantities")
)

// lostAnswer reports whether a failed call may have run at Shopify all the
// same: the request left, but no answer came back (a timeout, a 5xx).
func lostAnswer(err error) bool {
	return errors.Is(err, ErrAdminUnavailable) || errors.Is(err, ErrAdminTimeout)
}

// once runs a mutation that takes no idempotency key: a lost answer is
// followed by a look at Shopify's state, and the mutation is repeated only
// when done says it did not happen.
func (s ShopAdmin) once(mutate func() error, done func() (bool, error)) error {
	for n := 1; ; n++ {
		err := mutate()
		if err == nil || !lostAnswer(err) || n >= s.c.cfg.Attempts {
			return err
		}
		happened, derr := done()
		if derr != nil {
			return err
		}
		if happened {
			return nil
		}
	}
}

func orderGID(id int64) string { return "gid://shopify/Order/" + strconv.FormatInt(id, 10) }

// snapshot turns an Order of a mutation's answer into a webhook body.
func (s ShopAdmin) snapshot(o *gqlOrder) (json.RawMessage, error) {
	if o == nil {
		return nil, &AdminError{Shop: s.shop, Status: http.StatusOK, Message: "the answer holds no order", kind: ErrAdminBadResponse}
	}
	body, complete, err := o.webhookBody()
	if err != nil {
		return nil, &AdminError{Shop: s.shop, Status: http.StatusOK, Message: err.Error(), kind: ErrAdminBadResponse}
	}
	if !complete {
		return nil, ErrOrderTooLarge
	}
	return body, nil
}

// ErrOrderTooLarge: the order has more lines, fulfilments or refunds than
// a snapshot query holds; its webhooks bring its state instead.
var ErrOrderTooLarge = errors.New("shopify: the order is too large to read back in one query")

// OrderSnapshot reads one order as Shopify has it now; found is false when
// the shop has no such order.
func (s ShopAdmin) OrderSnapshot(ctx context.Context, orderID int64) (body json.RawMessage, found bool, err error) {
	var data struct {
		Order *gqlOrder `json:"order"`
	}
	if err := s.c.query(ctx, s.shop, s.token, "OrderSnapshot", orderSnapshotQuery, map[string]any{"id": orderGID(orderID)}, &data); err != nil {
		return nil, false, err
	}
	if data.Order == nil {
		return nil, false, nil
	}
	body, err = s.snapshot(data.Order)
	return body, err == nil, err
}

// orderState reads the order for a check before repeating a mutation.
func (s ShopAdmin) orderState(ctx context.Context, orderID int64) (*gqlOrder, error) {
	var data struct {
		Order *gqlOrder `json:"order"`
	}
	if err := s.c.query(ctx, s.shop, s.token, "OrderSnapshot", orderSnapshotQuery, map[string]any{"id": orderGID(orderID)}, &data); err != nil {
		return nil, err
	}
	if data.Order == nil {
		return nil, &AdminError{Shop: s.shop, Status: http.StatusOK, Message: "the order is gone", kind: ErrAdminBadResponse}
	}
	return data.Order, nil
}

type gqlUserErrors []struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code"`
}

func (g gqlUserErrors) err() error {
	if len(g) == 0 {
		return nil
	}
	out := make(UserErrors, len(g))
	for i, e := range g {
		out[i] = UserError{Field: e.Field, Message: e.Message, Code: e.Code}
	}
	return out
}

// CancelReasons are the reasons orderCancel takes (OrderCancelReason).
var CancelReasons = []string{"CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF"}

// CancelInput is an order cancellation: Reason is one of CancelReasons;
// Refund pays back what was paid to the original payment methods.
type CancelInput struct {
	OrderID   int64
	Reason    string
	Restock   bool
	Refund    bool
	Notify    bool
	StaffNote string
}

// CancelOrder cancels an order and answers it as Shopify has it after.
func (s ShopAdmin) CancelOrder(ctx context.Context, in CancelInput) (json.RawMessage, error) {
	if !slices.Contains(CancelReasons, in.Reason) {
		return nil, fmt.Errorf("shopify: cancel reason %q is none of %v", in.Reason, CancelReasons)
	}
	vars := map[string]any{"orderId": orderGID(in.OrderID), "reason": in.Reason, "restock": in.Restock, "refund": in.Refund,
		"notifyCustomer": in.Notify, "staffNote": in.StaffNote}
	err := s.once(func() error {
		var data struct {
			OrderCancel struct {
				UserErrors gqlUserErrors `json:"orderCancelUserErrors"`
			} `json:"orderCancel"`
		}
		if err := s.c.mutate(ctx, s.shop, s.token, "OrderCancel", orderCancelMutation, vars, &data); err != nil {
			return err
		}
		return data.OrderCancel.UserErrors.err()
	}, func() (bool, error) {
		o, err := s.orderState(ctx, in.OrderID)
		return err == nil && o.CancelledAt != nil, err
	})
	if err != nil {
		return nil, err
	}
	body, _, err := s.OrderSnapshot(ctx, in.OrderID)
	return body, err
}

// MarkOrderPaid records the order's outstanding amount as paid.
func (s ShopAdmin) MarkOrderPaid(ctx context.Context, orderID int64) (json.RawMessage, error) {
	var data struct {
		OrderMarkAsPaid struct {
			Order      *gqlOrder     `json:"order"`
			UserErrors gqlUserErrors `json:"userErrors"`
		} `json:"orderMarkAsPaid"`
	}
	var after *gqlOrder
	err := s.once(func() error {
		if err := s.c.mutate(ctx, s.shop, s.token, "OrderMarkAsPaid", orderMarkAsPaidMutation, map[string]any{"id": orderGID(orderID)}, &data); err != nil {
			return err
		}
		after = data.OrderMarkAsPaid.Order
		return data.OrderMarkAsPaid.UserErrors.err()
	}, func() (bool, error) {
		o, err := s.orderState(ctx, orderID)
		if err == nil && o.DisplayFinancialStatus != nil && *o.DisplayFinancialStatus == "PAID" {
			after = o
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return nil, err
	}
	return s.snapshot(after)
}

// UpdateOrder sets the order's note and replaces its tags; nil leaves
// either as it is. Setting the same values twice changes nothing, so it is
// retried like a query.
func (s ShopAdmin) UpdateOrder(ctx context.Context, orderID int64, note *string, tags []string) (json.RawMessage, error) {
	input := map[string]any{"id": orderGID(orderID)}
	if note != nil {
		input["note"] = *note
	}
	if tags != nil {
		input["tags"] = tags
	}
	var data struct {
		OrderUpdate struct {
			Order      *gqlOrder     `json:"order"`
			UserErrors gqlUserErrors `json:"userErrors"`
		} `json:"orderUpdate"`
	}
	if err := s.c.query(ctx, s.shop, s.token, "OrderUpdate", orderUpdateMutation, map[string]any{"input": input}, &data); err != nil {
		return nil, err
	}
	if err := data.OrderUpdate.UserErrors.err(); err != nil {
		return nil, err
	}
	return s.snapshot(data.OrderUpdate.Order)
}

// RefundLine is units of one line item to refund, restocked or not.
type RefundLine struct {
	LineItemID int64
	Quantity   int
	Restock    bool
}

// RefundInput is a refund: Key makes it happen once however often it is
// sent; Amount (a decimal in the order's currency, "" for none) goes back
// to the order's payment.
type RefundInput struct {
	OrderID int64
	Key     string
	Note    string
	Lines   []RefundLine
	Amount  string
}

// CreateRefund refunds lines and money, and answers the order after.
func (s ShopAdmin) CreateRefund(ctx context.Context, in RefundInput) (json.RawMessage, error) {
	if in.Key == "" {
		return nil, errors.New("shopify: a refund needs an idempotency key")
	}
	input := map[string]any{"orderId": orderGID(in.OrderID), "notify": false}
	if in.Note != "" {
		input["note"] = in.Note
	}
	lines := []map[string]any{}
	for _, l := range in.Lines {
		restock := "NO_RESTOCK"
		if l.Restock {
			restock = "RETURN"
		}
		lines = append(lines, map[string]any{"lineItemId": "gid://shopify/LineItem/" + strconv.FormatInt(l.LineItemID, 10),
			"quantity": l.Quantity, "restockType": restock})
	}
	input["refundLineItems"] = lines
	if in.Amount != "" {
		parent, err := s.salePayment(ctx, in.OrderID)
		if err != nil {
			return nil, err
		}
		input["transactions"] = []map[string]any{{"orderId": orderGID(in.OrderID), "kind": "REFUND",
			"gateway": parent.Gateway, "parentId": parent.ID, "amount": in.Amount}}
	}
	var data struct {
		RefundCreate struct {
			Order      *gqlOrder     `json:"order"`
			UserErrors gqlUserErrors `json:"userErrors"`
		} `json:"refundCreate"`
	}
	if err := s.c.query(ctx, s.shop, s.token, "RefundCreate", refundCreateMutation, map[string]any{"input": input, "key": in.Key}, &data); err != nil {
		return nil, err
	}
	if err := data.RefundCreate.UserErrors.err(); err != nil {
		return nil, err
	}
	return s.snapshot(data.RefundCreate.Order)
}

type gqlTransaction struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Gateway string `json:"gateway"`
}

// salePayment is the order's successful sale or capture, which a refund
// goes back to.
func (s ShopAdmin) salePayment(ctx context.Context, orderID int64) (gqlTransaction, error) {
	var data struct {
		Order *struct {
			Transactions []gqlTransaction `json:"transactions"`
		} `json:"order"`
	}
	if err := s.c.query(ctx, s.shop, s.token, "OrderTransactions", orderTransactionsQuery, map[string]any{"id": orderGID(orderID)}, &data); err != nil {
		return gqlTransaction{}, err
	}
	if data.Order != nil {
		for _, t := range data.Order.Transactions {
			if (t.Kind == "SALE" || t.Kind == "CAPTURE") && t.Status == "SUCCESS" {
				return t, nil
			}
		}
	}
	return gqlTransaction{}, UserErrors{{Field: []string{"transactions"}, Message: "The order has no payment to refund"}}
}

// FulfilInput ships units of an order: Lines maps line item ids to
// quantities (empty: everything left to ship), with the carrier's tracking.
type FulfilInput struct {
	OrderID int64
	Lines   map[int64]int
	Company string
	Number  string
	URL     string
	Notify  bool
}

type gqlFulfillmentOrder struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	LineItems struct {
		Nodes []struct {
			ID                string `json:"id"`
			RemainingQuantity int    `json:"remainingQuantity"`
			LineItem          struct {
				ID string `json:"id"`
			} `json:"lineItem"`
		} `json:"nodes"`
	} `json:"lineItems"`
}

// fulfillmentOrders reads the order's open fulfilment orders and, per line
// item id, the units they still hold.
func (s ShopAdmin) fulfillmentOrders(ctx context.Context, orderID int64) ([]gqlFulfillmentOrder, map[int64]int, error) {
	var data struct {
		Order *struct {
			FulfillmentOrders struct {
				Nodes []gqlFulfillmentOrder `json:"nodes"`
			} `json:"fulfillmentOrders"`
		} `json:"order"`
	}
	if err := s.c.query(ctx, s.shop, s.token, "OrderFulfillmentOrders", orderFulfillmentOrdersQuery, map[string]any{"id": orderGID(orderID)}, &data); err != nil {
		return nil, nil, err
	}
	if data.Order == nil {
		return nil, nil, UserErrors{{Field: []string{"id"}, Message: "Order does not exist"}}
	}
	left := map[int64]int{}
	var open []gqlFulfillmentOrder
	for _, fo := range data.Order.FulfillmentOrders.Nodes {
		if fo.Status != "OPEN" && fo.Status != "IN_PROGRESS" {
			continue
		}
		open = append(open, fo)
		for _, li := range fo.LineItems.Nodes {
			id, _ := legacyID(li.LineItem.ID, "LineItem")
			left[id] += li.RemainingQuantity
		}
	}
	return open, left, nil
}

// CreateFulfillment ships the units over the order's open fulfilment
// orders and answers the order after. fulfillmentCreate takes no
// idempotency key: after a lost answer, the units left to ship show
// whether it went through before it is sent again.
func (s ShopAdmin) CreateFulfillment(ctx context.Context, in FulfilInput) (json.RawMessage, error) {
	open, before, err := s.fulfillmentOrders(ctx, in.OrderID)
	if err != nil {
		return nil, err
	}
	want := in.Lines
	if len(want) == 0 {
		want = before
	}
	var groups []map[string]any
	for _, fo := range open {
		var items []map[string]any
		for _, li := range fo.LineItems.Nodes {
			id, _ := legacyID(li.LineItem.ID, "LineItem")
			if q := min(want[id], li.RemainingQuantity); q > 0 {
				items = append(items, map[string]any{"id": li.ID, "quantity": q})
			}
		}
		if items != nil {
			groups = append(groups, map[string]any{"fulfillmentOrderId": fo.ID, "fulfillmentOrderLineItems": items})
		}
	}
	for id, q := range want {
		if q > before[id] {
			return nil, UserErrors{{Field: []string{"lines"}, Message: fmt.Sprintf("Line item %d has %d left to fulfill, %d requested", id, before[id], q)}}
		}
	}
	if groups == nil {
		return nil, UserErrors{{Field: []string{"lines"}, Message: "Nothing is left to fulfill"}}
	}
	input := map[string]any{"lineItemsByFulfillmentOrder": groups, "notifyCustomer": in.Notify}
	if in.Company != "" || in.Number != "" || in.URL != "" {
		tracking := map[string]any{}
		for k, v := range map[string]string{"company": in.Company, "number": in.Number, "url": in.URL} {
			if v != "" {
				tracking[k] = v
			}
		}
		input["trackingInfo"] = tracking
	}
	var data struct {
		FulfillmentCreate struct {
			Fulfillment *struct {
				Order *gqlOrder `json:"order"`
			} `json:"fulfillment"`
			UserErrors gqlUserErrors `json:"userErrors"`
		} `json:"fulfillmentCreate"`
	}
	var shipped bool
	err = s.once(func() error {
		if err := s.c.mutate(ctx, s.shop, s.token, "FulfillmentCreate", fulfillmentCreateMutation, map[string]any{"fulfillment": input}, &data); err != nil {
			return err
		}
		return data.FulfillmentCreate.UserErrors.err()
	}, func() (bool, error) {
		_, after, err := s.fulfillmentOrders(ctx, in.OrderID)
		for id, q := range want {
			if q > 0 && before[id]-after[id] < min(q, before[id]) {
				return false, err
			}
		}
		shipped = err == nil
		return shipped, err
	})
	switch {
	case err != nil:
		return nil, err
	case shipped: // the lost answer's order is read instead
		body, _, err := s.OrderSnapshot(ctx, in.OrderID)
		return body, err
	case data.FulfillmentCreate.Fulfillment == nil:
		return nil, &AdminError{Shop: s.shop, Status: http.StatusOK, Message: "fulfillmentCreate answered no fulfillment", kind: ErrAdminBadResponse}
	}
	return s.snapshot(data.FulfillmentCreate.Fulfillment.Order)
}

// AdjustReasons are the reasons inventoryAdjustQuantities takes.
var AdjustReasons = []string{"correction", "cycle_count_available", "damaged", "movement_created", "movement_updated",
	"movement_received", "movement_canceled", "other", "promotion", "quality_control", "received", "reservation_created",
	"reservation_deleted", "reservation_updated", "restock", "safety_stock", "shrinkage"}

// AdjustInput moves an inventory item's available units at a location by
// Delta; Key makes it happen once however often it is sent.
type AdjustInput struct {
	InventoryItemID int64
	LocationID      int64
	Delta           int
	Reason          string // one of AdjustReasons
	Reference       string // a URI naming what caused it
	Key             string
}

// AdjustInventory applies the change and answers the available quantity after it.
func (s ShopAdmin) AdjustInventory(ctx context.Context, in AdjustInput) (available int, err error) {
	if in.Key == "" {
		return 0, errors.New("shopify: an inventory adjustment needs an idempotency key")
	}
	change := map[string]any{"inventoryItemId": "gid://shopify/InventoryItem/" + strconv.FormatInt(in.InventoryItemID, 10),
		"locationId": "gid://shopify/Location/" + strconv.FormatInt(in.LocationID, 10), "delta": in.Delta}
	input := map[string]any{"name": "available", "reason": in.Reason, "changes": []any{change}}
	if in.Reference != "" {
		input["referenceDocumentUri"] = in.Reference
	}
	var data struct {
		InventoryAdjustQuantities struct {
			Group *struct {
				Changes []struct {
					Name                string `json:"name"`
					QuantityAfterChange *int   `json:"quantityAfterChange"`
				} `json:"changes"`
			} `json:"inventoryAdjustmentGroup"`
			UserErrors gqlUserErrors `json:"userErrors"`
		} `json:"inventoryAdjustQuantities"`
	}
	if err := s.c.query(ctx, s.shop, s.token, "InventoryAdjustQuantities", inventoryAdjustMutation, map[string]any{"input": input, "key": in.Key}, &data); err != nil {
		return 0, err
	}
	if err := data.InventoryAdjustQuantities.UserErrors.err(); err != nil {
		return 0, err
	}
	if g := data.InventoryAdjustQuantities.Group; g != nil {
		for _, ch := range g.Changes {
			if ch.Name == "available" && ch.QuantityAfterChange != nil {
				return *ch.QuantityAfterChange, nil
			}
		}
	}
	return 0, &AdminError{Shop: s.shop, Status: http.StatusOK, Message: "the adjustment answered no available quantity", kind: ErrAdminBadResponse}
}
