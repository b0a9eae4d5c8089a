package app

import (
	"context"

	"github.com/ordermill/ordermill/domain"
)

// LoadInventory rebuilds the stock item (shop, key) from its history; an
// item with none is empty, and its first command creates it.
func LoadInventory(shop, key string) func([]domain.Event) (*domain.Inventory, error) {
	return func(history []domain.Event) (*domain.Inventory, error) {
		inv, err := domain.NewInventory(shop, key)
		if err != nil {
			return nil, err
		}
		for _, e := range history {
			inv.Apply(e)
		}
		return inv, nil
	}
}

// AdjustStock is a request to change a stock item's units on hand by Delta.
type AdjustStock struct {
	Key    string
	Delta  int
	Reason string
}

// AdjustStock adjusts a stock item of the caller's shop.
func (a *App) AdjustStock(ctx context.Context, by Caller, pre Precondition, cmd AdjustStock) (Result[*domain.Inventory], error) {
	return a.changeStock(ctx, by, cmd.Key, pre, func(inv *domain.Inventory) ([]domain.Event, error) {
		return inv.Adjust(cmd.Delta, cmd.Reason)
	})
}

// CountStock is a request to record a stock count: the units on hand.
type CountStock struct {
	Key    string
	OnHand *int
	Reason string
}

// CountStock records a count of a stock item of the caller's shop.
func (a *App) CountStock(ctx context.Context, by Caller, pre Precondition, cmd CountStock) (Result[*domain.Inventory], error) {
	return a.changeStock(ctx, by, cmd.Key, pre, func(inv *domain.Inventory) ([]domain.Event, error) {
		if cmd.OnHand == nil {
			return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "on_hand", Message: "is required"}}}
		}
		return inv.Count(*cmd.OnHand, cmd.Reason)
	})
}

// changeStock runs command on a stock item; the stream name holds the shop,
// so every item is the caller's own.
func (a *App) changeStock(ctx context.Context, by Caller, key string, pre Precondition,
	command func(*domain.Inventory) ([]domain.Event, error)) (Result[*domain.Inventory], error) {
	stream := domain.InventoryStream(by.Shop, key)
	return Update(ctx, a.store, stream, checked(stream, pre, LoadInventory(by.Shop, key)), command, by.by())
}
