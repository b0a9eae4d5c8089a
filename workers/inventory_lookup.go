package workers

import (
	"context"
	"errors"
	"log/slog"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/shopify"
)

// InventoryLookupHandlerName is the inventory item lookup's handler name.
const InventoryLookupHandlerName = "inventory-lookup"

// InventoryLookup maps inventory items that no products webhook has named
// yet: when Shopify's level of such an item is held, it asks the Admin API
// which variant the item stocks, records the mapping and syncs the level
// to the variant's stock key, where orders reserve. Without an answer (the
// shop uninstalled, Shopify unreachable or the item gone) the level stays
// held until a products webhook or a later level's lookup maps the item:
// never a dead letter.
type InventoryLookup struct {
	store  *eventstore.Store
	admin  *shopify.AdminClient
	tokens ShopTokens
	log    *slog.Logger
}

// NewInventoryLookup returns the inventory item lookup.
func NewInventoryLookup(store *eventstore.Store, admin *shopify.AdminClient, tokens ShopTokens, log *slog.Logger) *InventoryLookup {
	if log == nil {
		log = slog.Default()
	}
	return &InventoryLookup{store: store, admin: admin, tokens: tokens, log: log}
}

// Handler returns the lookup for the router.
func (l *InventoryLookup) Handler() Handler {
	return Handler{Name: InventoryLookupHandlerName, Categories: []string{"inventoryitem"}, Handle: l.handle}
}

func (l *InventoryLookup) handle(ctx context.Context, e eventstore.Event) error {
	if e.Type != (domain.InventoryItemLevelHeld{}).EventType() {
		return nil
	}
	d, err := eventstore.DecodeEvent(e.Type, e.Data)
	if err != nil {
		return err
	}
	held := d.(domain.InventoryItemLevelHeld)
	shop, itemID := held.Shop, held.InventoryItemID
	stored, err := l.store.ReadStream(ctx, domain.InventoryItemStream(shop, itemID), 1)
	if err != nil {
		return err
	}
	history, err := eventstore.Decode(stored)
	if err != nil {
		return err
	}
	item, err := app.LoadInventoryItem(shop, itemID)(history)
	if err != nil {
		return err
	}
	key, _ := item.Key()
	if key == "" { // else a products webhook mapped it meanwhile
		if key, err = l.lookUp(ctx, e, shop, itemID); key == "" || err != nil {
			return err
		}
	}
	// Each held level is synced by its own event's handling; per location
	// the newest wins, so this repeats nothing a products webhook synced.
	_, err = app.Update(ctx, l.store, domain.InventoryStream(shop, key), app.LoadInventory(shop, key),
		func(inv *domain.Inventory) ([]domain.Event, error) { return inv.SetAvailableFromShopify(held.Level) },
		app.By(shop, eventstore.Metadata{}), app.CausedBy(InventoryLookupHandlerName, e))
	return err
}

// lookUp asks Shopify for the item's variant and records the mapping; it
// returns the item's stock key, or "" when Shopify did not say.
func (l *InventoryLookup) lookUp(ctx context.Context, source eventstore.Event, shop string, itemID int64) (string, error) {
	token, err := l.tokens.AccessToken(ctx, shop)
	if err != nil {
		if !errors.Is(err, shopify.ErrNotInstalled) {
			l.log.WarnContext(ctx, "inventory item lookup: no access token; the level stays held", "shop", shop, "item", itemID, "err", err)
		}
		return "", nil
	}
	variant, sku, found, err := l.admin.InventoryItemVariant(ctx, shop, token, itemID)
	if err != nil || !found {
		l.log.WarnContext(ctx, "inventory item lookup: Shopify did not name the item's variant; the level stays held",
			"shop", shop, "item", itemID, "found", found, "err", err)
		return "", nil
	}
	var key string
	_, err = app.Update(ctx, l.store, domain.InventoryItemStream(shop, itemID),
		app.LoadInventoryItem(shop, itemID),
		func(item *domain.InventoryItem) ([]domain.Event, error) {
			key = domain.InventoryKey(sku, variant)
			return item.Map(variant, sku, domain.VariantNames{}) // the lookup asks for no names
		}, app.By(shop, eventstore.Metadata{}), app.CausedBy(InventoryLookupHandlerName, source))
	return key, err
}
