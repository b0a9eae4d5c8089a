package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/shops"
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

// WithShops gives the use cases the shops' credentials, which registering
// and installing a shop store beside its events.
func (a *App) WithShops(registry *shops.Registry) *App {
	a.shops = registry
	return a
}

// errNoShops is a process wired without the shops' credentials.
var errNoShops = errors.New("app: no shop registry (WithShops)")

// shopOrNew rebuilds a shop; no history is a shop not registered yet.
func shopOrNew(history []domain.Event) (*domain.Shop, error) {
	if len(history) == 0 {
		return &domain.Shop{}, nil
	}
	return domain.NewShopFromHistory(history)
}

// RegisterShop registers a shop whose credentials are given by hand (the
// API, the CLI, the seed): shop.registered and the shop's row, its
// credentials sealed, in one transaction. A domain already registered is
// shops.ErrShopExists.
func (a *App) RegisterShop(ctx context.Context, reg shops.Registration, meta eventstore.Metadata) (shops.Shop, error) {
	if a.shops == nil {
		return shops.Shop{}, errNoShops
	}
	reg.Domain = strings.ToLower(strings.TrimSpace(reg.Domain))
	at := a.now().UTC()
	var registered domain.ShopRegistered
	_, err := Update(ctx, a.store, domain.ShopStream(reg.Domain), shopOrNew, func(*domain.Shop) ([]domain.Event, error) {
		events, err := domain.RegisterShop(reg.Domain, reg.Name, reg.Currency, reg.ShopifyID, at)
		if err != nil {
			return nil, err
		}
		registered = events[0].(domain.ShopRegistered)
		return events, reg.Check()
	}, By(reg.Domain, meta), Expect(eventstore.NoStream), Row(func(tx pgx.Tx, _ *domain.Shop) error {
		reg.Name, reg.Currency, reg.ShopifyID = registered.Name, registered.Currency, registered.ShopifyID
		return a.shops.Insert(ctx, tx, reg, at)
	}))
	if errors.Is(err, eventstore.ErrConcurrency) {
		err = fmt.Errorf("%s: %w", reg.Domain, shops.ErrShopExists)
	}
	if err != nil {
		return shops.Shop{}, err
	}
	a.shops.Forget(reg.Domain)
	return a.shops.Get(ctx, reg.Domain)
}

// InstallShop registers a shop that granted access through OAuth or token
// exchange, or resumes one registered before (reinstalled, or registered
// for development): an uninstalled shop's history continues with
// shop.reinstalled, and its row takes the new token and the app's secret.
// It reports whether the shop was new. An install that loses the shop's
// stream to a concurrent one (the OAuth callback reached twice) or to an
// uninstall decides again on what that wrote, so its token is the row's.
func (a *App) InstallShop(ctx context.Context, in shops.Installation, meta eventstore.Metadata) (created bool, err error) {
	if a.shops == nil {
		return false, errNoShops
	}
	in.Shop, in.Name = strings.ToLower(in.Shop), strings.TrimSpace(in.Name)
	at := a.now().UTC()
	defer a.shops.Forget(in.Shop)
	res, err := Update(ctx, a.store, domain.ShopStream(in.Shop), shopOrNew, func(shop *domain.Shop) ([]domain.Event, error) {
		if created = shop.Version() == 0; created {
			return domain.RegisterShop(in.Shop, in.Name, in.Currency, in.ShopifyID, at)
		}
		return shop.Reinstall(at)
	}, By(in.Shop, meta), Row(func(tx pgx.Tx, _ *domain.Shop) error {
		return a.shops.StoreInstallation(ctx, tx, in, created, at)
	}))
	if err != nil || len(res.Events) > 0 {
		return created, err
	}
	// Installed already: no event, and its token is new all the same.
	return false, a.store.InTx(ctx, func(tx pgx.Tx) error { return a.shops.StoreInstallation(ctx, tx, in, false, at) })
}
