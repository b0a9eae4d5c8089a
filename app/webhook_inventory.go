package app

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/shopify"
)

// Shopify's stock webhooks name an inventory item and a location; orders
// name variants and SKUs. products/* webhooks say which variant (and so
// which stock key) each inventory item belongs to, and that mapping lives
// on the item's own stream. A level for an item not mapped yet is held
// there and synced to the stock key when the mapping arrives, so stock
// levels and order reservations always meet on the same rows.

// inventoryLevel syncs Shopify's available figure of an item at a location
// to the item's stock key, or holds it until the item is mapped.
func inventoryLevel(ctx context.Context, p *Batch, src eventstore.Event, shop string, level shopify.InventoryLevel) (domain.WebhookProcessed, []domain.Event, error) {
	if !level.Tracked {
		return domain.WebhookProcessed{Result: "ignored", Detail: "stock of the item is not tracked"}, nil, nil
	}
	stock := domain.StockLevel{LocationID: level.LocationID, Available: level.Available, UpdatedAt: level.UpdatedAt}
	var key string
	res, err := planUpdate(ctx, p, src, shop, domain.InventoryItemStream(shop, level.InventoryItemID),
		LoadInventoryItem(shop, level.InventoryItemID), func(item *domain.InventoryItem) ([]domain.Event, error) {
			key, _ = item.Key()
			return item.Hold(stock)
		})
	if err != nil {
		return domain.WebhookProcessed{}, nil, err
	}
	n := len(res.Events)
	if key == "" {
		detail := fmt.Sprintf("level of inventory item %d held until a products webhook names its variant", level.InventoryItemID)
		if n == 0 {
			return appliedOrUnchanged(0, "", ""), nil, nil
		}
		return domain.WebhookProcessed{Result: "recorded", Detail: detail, Events: n}, nil, nil
	}
	n, err = syncLevels(ctx, p, src, shop, key, stock)
	return appliedOrUnchanged(n, "", "inventory level of "+key+" synced"), nil, err
}

// mapInventoryItems records the stock key of every variant's inventory
// item and syncs the levels held for items that were not mapped before.
func mapInventoryItems(ctx context.Context, p *Batch, src eventstore.Event, shop string, product shopify.Product) (domain.WebhookProcessed, []domain.Event, error) {
	total := 0
	for _, v := range product.Variants {
		if v.InventoryItemID == 0 {
			continue // a variant without an inventory item stocks nothing
		}
		var held []domain.StockLevel
		var key string
		res, err := planUpdate(ctx, p, src, shop, domain.InventoryItemStream(shop, v.InventoryItemID),
			LoadInventoryItem(shop, v.InventoryItemID), func(item *domain.InventoryItem) ([]domain.Event, error) {
				events, err := item.Map(v.ID, v.SKU, domain.VariantNames{Product: product.Title, Variant: v.Title})
				if len(events) > 0 {
					held, key = item.Held(), events[0].(domain.InventoryItemMapped).Key
				}
				return events, err
			})
		if err != nil {
			return domain.WebhookProcessed{}, nil, err
		}
		total += len(res.Events)
		if len(held) > 0 {
			synced, err := syncLevels(ctx, p, src, shop, key, held...)
			if err != nil {
				return domain.WebhookProcessed{}, nil, err
			}
			total += synced
		}
	}
	return appliedOrUnchanged(total, "", "inventory items of product "+strconv.FormatInt(product.ID, 10)+" mapped"), nil, nil
}

// inventoryItem rebuilds Shopify's inventory item id of shop from its history.
func LoadInventoryItem(shop string, id int64) func([]domain.Event) (*domain.InventoryItem, error) {
	return replay(func() (*domain.InventoryItem, error) { return domain.NewInventoryItem(shop, id) })
}

// syncLevels records Shopify's levels on the stock key; each location's
// newest wins.
func syncLevels(ctx context.Context, p *Batch, src eventstore.Event, shop, key string, levels ...domain.StockLevel) (int, error) {
	load := LoadInventory(shop, key)
	var history []domain.Event
	res, err := planUpdate(ctx, p, src, shop, domain.InventoryStream(shop, key),
		func(h []domain.Event) (*domain.Inventory, error) { history = h; return load(h) },
		func(*domain.Inventory) ([]domain.Event, error) {
			// Each level decides on the ones before it, on a copy: Update
			// applies the events to its aggregate itself.
			inv, err := load(history)
			if err != nil {
				return nil, err
			}
			var out []domain.Event
			for _, l := range levels {
				events, err := inv.SetAvailableFromShopify(l)
				if err != nil {
					return nil, err
				}
				for _, e := range events {
					inv.Apply(e)
				}
				out = append(out, events...)
			}
			return out, nil
		})
	return len(res.Events), err
}

// nameLocation records the name of a location, which stock levels name by
// id only; the inventory pages show it.
func nameLocation(ctx context.Context, p *Batch, src eventstore.Event, shop string, loc shopify.Location) (domain.WebhookProcessed, []domain.Event, error) {
	res, err := planUpdate(ctx, p, src, shop, domain.LocationStream(shop, loc.ID),
		func(history []domain.Event) (*domain.Location, error) {
			l, err := domain.NewLocation(shop, loc.ID)
			if err != nil {
				return nil, err
			}
			for _, e := range history {
				l.Apply(e)
			}
			return l, nil
		},
		func(l *domain.Location) ([]domain.Event, error) { return l.Name(loc.Name, loc.UpdatedAt) })
	if err != nil {
		return domain.WebhookProcessed{}, nil, err
	}
	return appliedOrUnchanged(len(res.Events), "", "location "+strconv.FormatInt(loc.ID, 10)+" named "+loc.Name), nil, nil
}
