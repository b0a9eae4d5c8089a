package projections

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// Inventory maintains inventory_view, one row per (shop, key).
//
// Every event goes through domain.Inventory.Apply, so the figures follow the
// domain's rules (available = on hand − reserved, backorder, Shopify sync).
// Unlike orders, a stock item's stream grows without bound (a reservation per
// order), so an item is not replayed from its history: it is restored from its
// row as Shopify's level per location, a count of on_hand, one reservation of
// reserved and one backorder of the shortfall. Those figures are all that
// Apply and Snapshot's figures depend on.
type Inventory struct{}

// NewInventory returns the inventory projector.
func NewInventory() *Inventory { return &Inventory{} }

// Name implements Projector.
func (*Inventory) Name() string { return "inventory" }

// Categories implements Projector.
func (*Inventory) Categories() []string { return []string{"inventory"} }

// Tables implements Projector.
func (*Inventory) Tables() []string { return []string{"inventory_view"} }

// PersonalData implements Projector: stock levels carry no personal data.
func (*Inventory) PersonalData() []PersonalData { return nil }

// Apply implements Projector.
func (p *Inventory) Apply(ctx context.Context, tx pgx.Tx, e eventstore.Event) error {
	return p.ApplyBatch(ctx, tx, []eventstore.Event{e})
}

type inventoryViewRow struct {
	Shop        string    `json:"shop"`
	Key         string    `json:"key"`
	OnHand      int       `json:"on_hand"`
	Reserved    int       `json:"reserved"`
	Available   int       `json:"available"`
	Backordered int       `json:"backordered"`
	Version     int64     `json:"version"`
	UpdatedAt   time.Time `json:"updated_at"`
	Shortfall   int       `json:"shortfall"`
	// ShopifyLevels is Shopify's available figure per location id.
	ShopifyLevels map[int64]int `json:"shopify_levels"`
}

// ApplyBatch implements BatchProjector.
func (*Inventory) ApplyBatch(ctx context.Context, tx pgx.Tx, events []eventstore.Event) error {
	runs, err := groupByStream(events)
	if err != nil {
		return err
	}
	items := make([]*domain.Inventory, len(runs))
	for i, r := range runs {
		shop, key, err := inventoryItem(r.stream)
		if err == nil {
			items[i], err = domain.NewInventory(shop, key)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", r.stream, err)
		}
	}
	if err := restoreInventory(ctx, tx, runs, items); err != nil {
		return err
	}
	rows := make([]inventoryViewRow, len(runs))
	for i, r := range runs {
		for _, e := range r.events {
			items[i].Apply(e)
		}
		s := items[i].Snapshot()
		rows[i] = inventoryViewRow{
			Shop: s.Shop, Key: s.Key, OnHand: s.OnHand, Reserved: s.Reserved, Available: s.Available,
			Backordered: s.Backordered, Version: r.last.StreamVersion, UpdatedAt: r.last.RecordedAt,
			Shortfall: s.Shortfall, ShopifyLevels: s.ShopifyLevels,
		}
		if rows[i].ShopifyLevels == nil {
			rows[i].ShopifyLevels = map[int64]int{} // the column is NOT NULL
		}
	}
	return upsertRows(ctx, tx, "inventory_view", "shop, key", rows)
}

// restoreInventory brings the items of runs that continue a stream to the
// figures of their rows.
func restoreInventory(ctx context.Context, tx pgx.Tx, runs []*streamRun, items []*domain.Inventory) error {
	var shops, keys []string
	for i, r := range runs {
		if r.first > 1 {
			s := items[i].Snapshot()
			shops, keys = append(shops, s.Shop), append(keys, s.Key)
		}
	}
	if len(shops) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT v.shop, v.key, v.on_hand, v.reserved, v.shortfall, v.shopify_levels, v.version FROM inventory_view v
		JOIN unnest($1::text[], $2::text[]) AS u(shop, key) ON v.shop = u.shop AND v.key = u.key`, shops, keys)
	if err != nil {
		return fmt.Errorf("load inventory_view: %w", err)
	}
	type figures struct {
		onHand, reserved, shortfall int
		levels                      map[int64]int
		version                     int64
	}
	found := map[string]figures{}
	var (
		shop, key string
		f         figures
	)
	_, err = pgx.ForEachRow(rows, []any{&shop, &key, &f.onHand, &f.reserved, &f.shortfall, &f.levels, &f.version}, func() error {
		found[domain.InventoryStream(shop, key)] = f
		return nil
	})
	if err != nil {
		return fmt.Errorf("load inventory_view: %w", err)
	}
	for i, r := range runs {
		if r.first == 1 {
			continue
		}
		f, ok := found[r.stream]
		if !ok || f.version != r.first-1 {
			return fmt.Errorf("%s: row at version %d (present %v), want %d", r.stream, f.version, ok, r.first-1)
		}
		s := items[i].Snapshot()
		for _, loc := range slices.Sorted(maps.Keys(f.levels)) {
			items[i].Apply(domain.InventoryLevelSynced{Shop: s.Shop, Key: s.Key, LocationID: loc, Available: f.levels[loc]})
		}
		items[i].Apply(domain.InventoryCounted{Shop: s.Shop, Key: s.Key, OnHand: f.onHand})
		items[i].Apply(domain.InventoryReserved{Shop: s.Shop, Key: s.Key, Quantity: f.reserved})
		items[i].Apply(domain.InventoryBackordered{Shop: s.Shop, Key: s.Key, Quantity: f.shortfall})
	}
	return nil
}

// inventoryItem splits an inventory stream id into its shop and key; shop
// domains hold no colon (domain.InventoryStream).
func inventoryItem(stream string) (shop, key string, err error) {
	shop, key, ok := strings.Cut(strings.TrimPrefix(stream, "inventory-"), ":")
	if !ok {
		return "", "", fmt.Errorf("%q is not an inventory stream", stream)
	}
	return shop, key, nil
}
