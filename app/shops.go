package app

import (
	"context"
	"errors"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// Shop reads the caller's shop.
func (a *App) Shop(ctx context.Context, shop string) (*domain.Shop, error) {
	stored, err := a.store.ReadStream(ctx, domain.ShopStream(shop), 1)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return nil, domain.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	history, err := eventstore.Decode(stored)
	if err != nil {
		return nil, err
	}
	return domain.NewShopFromHistory(history)
}

// ChangeShopSettings changes the settings of the caller's shop that patch
// names (non-nil fields) and keeps the others.
func (a *App) ChangeShopSettings(ctx context.Context, by Caller, pre Precondition, patch func(*domain.ShopSettings)) (Result[*domain.Shop], error) {
	stream := domain.ShopStream(by.Shop)
	return Update(ctx, a.store, stream, checked(stream, pre, domain.NewShopFromHistory), func(shop *domain.Shop) ([]domain.Event, error) {
		next := shop.Settings()
		patch(&next)
		return shop.ChangeSettings(next, a.now())
	}, by.by())
}
