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

// CancelOrder is a request to cancel an order.
type CancelOrder struct {
	ID     uuid.UUID
	Reason string
}

// CancelOrder cancels an order of the caller's shop.
func (a *App) CancelOrder(ctx context.Context, by Caller, pre Precondition, cmd CancelOrder) (Result[*domain.Order], error) {
	return a.changeOrder(ctx, by, cmd.ID, pre, func(o *domain.Order) ([]domain.Event, error) {
		return o.Cancel(cmd.Reason, a.now())
	})
}

// PayOrder is a request to record an order's payment.
type PayOrder struct {
	ID     uuid.UUID
	Amount *int64 // nil: the order's total
}

// PayOrder records the payment of an order of the caller's shop.
func (a *App) PayOrder(ctx context.Context, by Caller, pre Precondition, cmd PayOrder) (Result[*domain.Order], error) {
	return a.changeOrder(ctx, by, cmd.ID, pre, func(o *domain.Order) ([]domain.Event, error) {
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

// RefundOrder refunds an order of the caller's shop.
func (a *App) RefundOrder(ctx context.Context, by Caller, pre Precondition, cmd RefundOrder) (Result[*domain.Order], error) {
	if cmd.RefundID == "" {
		cmd.RefundID = uuid.NewString()
	}
	return a.changeOrder(ctx, by, cmd.ID, pre, func(o *domain.Order) ([]domain.Event, error) {
		return o.Refund(cmd.RefundID, cmd.Amount, cmd.Lines, a.now())
	})
}

// changeOrder runs command on an existing order of the caller's shop;
// another shop's order is not found.
func (a *App) changeOrder(ctx context.Context, by Caller, id uuid.UUID, pre Precondition,
	command func(*domain.Order) ([]domain.Event, error)) (Result[*domain.Order], error) {
	stream := domain.OrderStream(id)
	load := func(history []domain.Event) (*domain.Order, error) {
		o, err := domain.NewOrderFromHistory(history)
		if err == nil && o.Snapshot().Shop != by.Shop {
			err = domain.ErrNotFound
		}
		return o, err
	}
	return Update(ctx, a.store, stream, checked(stream, pre, load), command, by.by())
}
