package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
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

// OrderCommand is a command on an existing order.
type OrderCommand interface {
	Action() domain.Action
}

// WriteBack sends a command on an order Shopify owns to Shopify first, and
// returns the events that record Shopify's answer; Shopify's refusal comes
// back as an error, and nothing changes locally. Send runs as Update's
// decide, so a concurrent writer's conflict runs it again: it must be
// idempotent.
type WriteBack interface {
	Send(ctx context.Context, order *domain.Order, cmd OrderCommand) ([]domain.Event, error)
}

// SetWriteBack makes commands on Shopify's orders go through wb; without
// one they change the order locally, as on any other.
func (a *App) SetWriteBack(wb WriteBack) { a.writeBack = wb }

// CancelOrder is a request to cancel an order.
type CancelOrder struct {
	ID     uuid.UUID
	Reason string
}

// Action is what the command is, as allowed_actions names it.
func (CancelOrder) Action() domain.Action { return domain.ActionCancel }

// CancelOrder cancels an order of the caller's shop.
func (a *App) CancelOrder(ctx context.Context, by Caller, pre Precondition, cmd CancelOrder) (Result[*domain.Order], error) {
	return a.changeOrder(ctx, by, cmd.ID, pre, cmd, func(o *domain.Order) ([]domain.Event, error) {
		return o.Cancel(cmd.Reason, a.now())
	})
}

// PayOrder is a request to record an order's payment.
type PayOrder struct {
	ID     uuid.UUID
	Amount *int64 // nil: the order's total
}

// Action is what the command is, as allowed_actions names it.
func (PayOrder) Action() domain.Action { return domain.ActionPay }

// PayOrder records the payment of an order of the caller's shop.
func (a *App) PayOrder(ctx context.Context, by Caller, pre Precondition, cmd PayOrder) (Result[*domain.Order], error) {
	return a.changeOrder(ctx, by, cmd.ID, pre, cmd, func(o *domain.Order) ([]domain.Event, error) {
		amount := o.Snapshot().Total
		if cmd.Amount != nil {
			amount = *cmd.Amount
		}
		return o.MarkPaid(amount, a.now())
	})
}

// RefundOrder is a request to refund (part of) an order.
type RefundOrder struct {
	ID uuid.UUID
	// RefundID makes a retried refund harmless; without one every call refunds.
	RefundID string
	Amount   int64
	Lines    []domain.LineQuantity
}

// Action is what the command is, as allowed_actions names it.
func (RefundOrder) Action() domain.Action { return domain.ActionRefund }

// RefundOrder refunds an order of the caller's shop.
func (a *App) RefundOrder(ctx context.Context, by Caller, pre Precondition, cmd RefundOrder) (Result[*domain.Order], error) {
	if cmd.RefundID == "" {
		cmd.RefundID = uuid.NewString()
	}
	return a.changeOrder(ctx, by, cmd.ID, pre, cmd, func(o *domain.Order) ([]domain.Event, error) {
		return o.Refund(cmd.RefundID, cmd.Amount, cmd.Lines, a.now())
	})
}

// changeOrder runs cmd on an existing order of the caller's shop: through
// the write-back for an order Shopify owns, else as local decides. Another
// shop's order is not found.
func (a *App) changeOrder(ctx context.Context, by Caller, id uuid.UUID, pre Precondition, cmd OrderCommand,
	local func(*domain.Order) ([]domain.Event, error)) (Result[*domain.Order], error) {
	stream := domain.OrderStream(id)
	load := func(history []domain.Event) (*domain.Order, error) {
		o, err := domain.NewOrderFromHistory(history)
		if err == nil && o.Snapshot().Shop != by.Shop {
			err = domain.ErrNotFound
		}
		return o, err
	}
	decide := func(o *domain.Order) ([]domain.Event, error) {
		if a.writeBack != nil && o.Snapshot().Source == domain.SourceShopify {
			return a.writeBack.Send(ctx, o, cmd)
		}
		return local(o)
	}
	return Update(ctx, a.store, stream, checked(stream, pre, load), decide, by.by())
}
