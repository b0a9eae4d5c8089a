package app

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/shopify"
)

// PlaceOrder places a manual order; the domain validates cmd. With InTx the
// order is appended in the caller's transaction.
func (a *App) PlaceOrder(ctx context.Context, by Caller, cmd domain.PlaceOrderCommand, opts ...Option) (Result[*domain.Order], error) {
	cmd.Shop = by.Shop
	return Update(ctx, a.store, domain.OrderStream(cmd.OrderID),
		func([]domain.Event) (*domain.Order, error) { return &domain.Order{}, nil },
		func(*domain.Order) ([]domain.Event, error) { return domain.PlaceOrder(cmd) },
		append([]Option{by.by(), Expect(eventstore.NoStream)}, opts...)...)
}

// CancelOrder is a request to cancel an order. Refund and Restock are for
// Shopify orders: pay back what was paid (a local cancel never does: a paid
// order stays paid until refunded) and put the units back (nil: yes).
type CancelOrder struct {
	ID      uuid.UUID
	Reason  string
	Refund  bool
	Restock *bool
}

// CancelOrder cancels an order of the caller's shop.
func (a *App) CancelOrder(ctx context.Context, by Caller, pre Precondition, cmd CancelOrder) (Result[*domain.Order], error) {
	return a.changeOrder(ctx, by, cmd.ID, pre, func(o *domain.Order) ([]domain.Event, error) {
		return o.Cancel(cmd.Reason, a.now())
	}, func(ctx context.Context, w ShopifyWriter, o domain.OrderState) (json.RawMessage, error) {
		reason := strings.TrimSpace(cmd.Reason)
		if reason == "" {
			return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "reason", Message: "is required"}}}
		}
		// Shopify takes one of its reasons; any other is kept as the staff note.
		in := shopify.CancelInput{OrderID: o.ShopifyID, Reason: "OTHER", StaffNote: reason, Refund: cmd.Refund,
			Restock: cmd.Restock == nil || *cmd.Restock}
		if slices.Contains(shopify.CancelReasons, strings.ToUpper(reason)) {
			in.Reason, in.StaffNote = strings.ToUpper(reason), ""
		}
		return w.CancelOrder(ctx, in)
	})
}

// PayOrder is a request to record an order's payment.
type PayOrder struct {
	ID     uuid.UUID
	Amount *int64 // nil: the order's total
}

// PayOrder records the payment of an order of the caller's shop; a Shopify
// order is marked paid in Shopify.
func (a *App) PayOrder(ctx context.Context, by Caller, pre Precondition, cmd PayOrder) (Result[*domain.Order], error) {
	return a.changeOrder(ctx, by, cmd.ID, pre, func(o *domain.Order) ([]domain.Event, error) {
		amount := o.Snapshot().Total
		if cmd.Amount != nil {
			amount = *cmd.Amount
		}
		return o.MarkPaid(amount, a.now())
	}, func(ctx context.Context, w ShopifyWriter, o domain.OrderState) (json.RawMessage, error) {
		if cmd.Amount != nil && *cmd.Amount != o.Total {
			return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "amount",
				Message: fmt.Sprintf("must equal the order total %d: Shopify marks the whole outstanding amount paid", o.Total)}}}
		}
		return w.MarkOrderPaid(ctx, o.ShopifyID)
	})
}

// RefundOrder is a request to refund (part of) an order.
type RefundOrder struct {
	ID uuid.UUID
	// RefundID makes a retried refund harmless; without one every call refunds.
	RefundID string
	Amount   int64
	Lines    []domain.LineQuantity
	Reason   string
	Restock  bool // Shopify orders: the refunded units go back in stock
}

// refundKeys names Shopify idempotency keys after an order and its refund id.
var refundKeys = uuid.MustParse("6f1d3c52-2f0e-4d8a-9a53-8c1f0b7e4a21")

// RefundOrder refunds an order of the caller's shop.
func (a *App) RefundOrder(ctx context.Context, by Caller, pre Precondition, cmd RefundOrder) (Result[*domain.Order], error) {
	// The same refund id always sends Shopify the same idempotency key: a
	// repeat gets the first refund instead of a second one.
	given := cmd.RefundID != ""
	if !given {
		cmd.RefundID = uuid.NewString()
	}
	return a.changeOrder(ctx, by, cmd.ID, pre, func(o *domain.Order) ([]domain.Event, error) {
		return o.Refund(cmd.RefundID, cmd.Amount, cmd.Lines, a.now(), cmd.Reason)
	}, func(ctx context.Context, w ShopifyWriter, o domain.OrderState) (json.RawMessage, error) {
		lines, err := shopifyLines(o, cmd.Lines)
		switch {
		case err != nil:
			return nil, err
		case cmd.Amount < 0:
			return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "amount", Message: "must not be negative"}}}
		case cmd.Amount == 0 && len(lines) == 0:
			return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "amount", Message: "must be positive when no lines are refunded"}}}
		}
		in := shopify.RefundInput{OrderID: o.ShopifyID, Key: uuid.NewSHA1(refundKeys, []byte(o.ID.String()+"/"+cmd.RefundID)).String(),
			Note: strings.TrimSpace(cmd.Reason)}
		for _, lq := range cmd.Lines {
			id, _ := strconv.ParseInt(lq.LineID, 10, 64)
			in.Lines = append(in.Lines, shopify.RefundLine{LineItemID: id, Quantity: lines[id], Restock: cmd.Restock})
		}
		if cmd.Amount > 0 {
			in.Amount = domain.Money{Amount: cmd.Amount, Currency: o.Currency}.Decimal()
		}
		return w.CreateRefund(ctx, in)
	})
}

// FulfilOrder is a request to ship units of an order with their tracking.
type FulfilOrder struct {
	ID       uuid.UUID
	Lines    []domain.LineQuantity // empty: everything not yet shipped
	Tracking domain.Tracking
	Notify   bool // Shopify orders: Shopify emails the customer the shipment
}

// FulfilOrder records a shipment of an order of the caller's shop; a
// Shopify order's is created in Shopify, over its fulfillment orders.
func (a *App) FulfilOrder(ctx context.Context, by Caller, pre Precondition, cmd FulfilOrder) (Result[*domain.Order], error) {
	return a.changeOrder(ctx, by, cmd.ID, pre, func(o *domain.Order) ([]domain.Event, error) {
		lines := cmd.Lines
		if len(lines) == 0 {
			lines = o.Unfulfilled()
		}
		return o.Fulfill(uuid.NewString(), lines, a.now(), cmd.Tracking)
	}, func(ctx context.Context, w ShopifyWriter, o domain.OrderState) (json.RawMessage, error) {
		lines, err := shopifyLines(o, cmd.Lines)
		if err != nil {
			return nil, err
		}
		in := shopify.FulfilInput{OrderID: o.ShopifyID, Lines: lines, Company: strings.TrimSpace(cmd.Tracking.Company), Notify: cmd.Notify}
		if len(cmd.Tracking.Numbers) > 0 {
			in.Number = cmd.Tracking.Numbers[0]
		}
		if len(cmd.Tracking.URLs) > 0 {
			in.URL = cmd.Tracking.URLs[0]
		}
		return w.CreateFulfillment(ctx, in)
	})
}

// AnnotateOrder is a request to set an order's note and tags; nil leaves
// either as it is, and Tags replaces every tag.
type AnnotateOrder struct {
	ID   uuid.UUID
	Note *string
	Tags []string
}

// AnnotateOrder sets the note and tags of an order of the caller's shop.
func (a *App) AnnotateOrder(ctx context.Context, by Caller, pre Precondition, cmd AnnotateOrder) (Result[*domain.Order], error) {
	return a.changeOrder(ctx, by, cmd.ID, pre, func(o *domain.Order) ([]domain.Event, error) {
		return o.Annotate(cmd.Note, cmd.Tags, a.now())
	}, func(ctx context.Context, w ShopifyWriter, o domain.OrderState) (json.RawMessage, error) {
		if cmd.Note == nil && cmd.Tags == nil {
			return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "note", Message: "note or tags is required"}}}
		}
		return w.UpdateOrder(ctx, o.ShopifyID, cmd.Note, cmd.Tags)
	})
}

// loadOrder rebuilds an order of shop; another shop's is not found.
func loadOrder(shop string) func([]domain.Event) (*domain.Order, error) {
	return func(history []domain.Event) (*domain.Order, error) {
		o, err := domain.NewOrderFromHistory(history)
		if err == nil && o.Snapshot().Shop != shop {
			err = domain.ErrNotFound
		}
		return o, err
	}
}

// changeOrder runs local on an existing local order of the caller's shop;
// a Shopify order's action goes to Shopify first with remote (see
// writeBackOrder). Another shop's order is not found.
func (a *App) changeOrder(ctx context.Context, by Caller, id uuid.UUID, pre Precondition,
	local func(*domain.Order) ([]domain.Event, error), remote remoteOrder) (Result[*domain.Order], error) {
	stream := domain.OrderStream(id)
	var inShopify *domain.Order
	res, err := Update(ctx, a.store, stream, checked(stream, pre, loadOrder(by.Shop)), func(o *domain.Order) ([]domain.Event, error) {
		if o.Snapshot().Source == domain.SourceShopify {
			inShopify = o // nothing is appended before Shopify answers
			return nil, nil
		}
		return local(o)
	}, by.by())
	if err != nil || inShopify == nil {
		return res, err
	}
	return a.writeBackOrder(ctx, by, inShopify, remote)
}
