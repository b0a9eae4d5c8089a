package app

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/shopify"
)

// LoadInventory rebuilds the stock item (shop, key) from its history; an
// item with none is empty, and its first command creates it.
func LoadInventory(shop, key string) func([]domain.Event) (*domain.Inventory, error) {
	return replay(func() (*domain.Inventory, error) { return domain.NewInventory(shop, key) })
}

// replay rebuilds the aggregate fresh makes by applying its history.
func replay[A Aggregate](fresh func() (A, error)) func([]domain.Event) (A, error) {
	return func(history []domain.Event) (A, error) {
		agg, err := fresh()
		if err != nil {
			return agg, err
		}
		for _, e := range history {
			agg.Apply(e)
		}
		return agg, nil
	}
}

// AdjustStock is a request to change a stock item's units on hand by
// Delta. LocationID names the Shopify location of an item Shopify keeps
// (0: its one location); IdempotencyKey makes a retry change Shopify once.
type AdjustStock struct {
	Key            string
	Delta          int
	Reason         string
	LocationID     int64
	IdempotencyKey string
}

// AdjustStock adjusts a stock item of the caller's shop. An item whose
// figures Shopify keeps (it has Shopify levels) is adjusted in Shopify first.
func (a *App) AdjustStock(ctx context.Context, by Caller, pre Precondition, cmd AdjustStock) (Result[*domain.Inventory], error) {
	stream := domain.InventoryStream(by.Shop, cmd.Key)
	var inShopify *domain.Inventory
	res, err := Update(ctx, a.store, stream, checked(stream, pre, LoadInventory(by.Shop, cmd.Key)), func(inv *domain.Inventory) ([]domain.Event, error) {
		if len(inv.Snapshot().ShopifyLevels) > 0 {
			inShopify = inv // nothing is appended before Shopify answers
			return nil, nil
		}
		return inv.Adjust(cmd.Delta, cmd.Reason)
	}, by.by())
	if err != nil || inShopify == nil {
		return res, err
	}
	return a.writeBackStock(ctx, by, inShopify, func(ctx context.Context, w ShopifyWriter, item int64, levels map[int64]int) (int64, int, error) {
		loc := cmd.LocationID
		if loc == 0 && len(levels) == 1 {
			for only := range levels {
				loc = only
			}
		}
		switch {
		case loc == 0:
			return 0, 0, &domain.ValidationError{Fields: []domain.FieldError{{Field: "location_id",
				Message: fmt.Sprintf("is required: Shopify stocks this item at %d locations", len(levels))}}}
		case cmd.Delta == 0:
			return 0, 0, &domain.ValidationError{Fields: []domain.FieldError{{Field: "delta", Message: "must not be zero"}}}
		}
		// Shopify takes one of its reasons; any other adjustment is a correction.
		reason := strings.ToLower(strings.TrimSpace(cmd.Reason))
		if !slices.Contains(shopify.AdjustReasons, reason) {
			reason = "correction"
		}
		available, err := w.AdjustInventory(ctx, shopify.AdjustInput{InventoryItemID: item, LocationID: loc, Delta: cmd.Delta,
			Reason: reason, Key: cmp.Or(cmd.IdempotencyKey, uuid.NewString())})
		return loc, available, err
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
