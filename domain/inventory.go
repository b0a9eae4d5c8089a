package domain

import (
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// InventoryKey is how stock is keyed within a shop: the SKU when the line has
// one, otherwise "variant-<id>" (Shopify line items may have sku null).
func InventoryKey(sku string, variantID int64) string {
	if sku != "" {
		return sku
	}
	return "variant-" + strconv.FormatInt(variantID, 10)
}

// Inventory events carry the shop and key so that a projector or an auditor
// can read any of them without parsing the stream name.

// InventoryReserved records units set aside for an order. Backordered is the
// part of Quantity that was not available when reserved.
type InventoryReserved struct {
	Shop        string    `json:"shop"`
	Key         string    `json:"key"`
	OrderID     uuid.UUID `json:"order_id"`
	Quantity    int       `json:"quantity"`
	Backordered int       `json:"backordered"`
}

// InventoryReleased records that an order's remaining reservation was given back.
type InventoryReleased struct {
	Shop     string    `json:"shop"`
	Key      string    `json:"key"`
	OrderID  uuid.UUID `json:"order_id"`
	Quantity int       `json:"quantity"`
}

// InventoryCommitted records units that left the warehouse for a fulfilment.
// Released is how much of the order's reservation the shipment consumed.
type InventoryCommitted struct {
	Shop          string    `json:"shop"`
	Key           string    `json:"key"`
	OrderID       uuid.UUID `json:"order_id"`
	FulfillmentID string    `json:"fulfillment_id"`
	Quantity      int       `json:"quantity"`
	Released      int       `json:"released"`
}

// InventoryAdjusted records a relative change of stock on hand (received, damaged).
type InventoryAdjusted struct {
	Shop   string `json:"shop"`
	Key    string `json:"key"`
	Delta  int    `json:"delta"`
	Reason string `json:"reason"`
}

// InventoryCounted records a stock count that replaces the on-hand figure.
type InventoryCounted struct {
	Shop   string `json:"shop"`
	Key    string `json:"key"`
	OnHand int    `json:"on_hand"`
	Reason string `json:"reason"`
}

// InventoryLevelSynced records Shopify's available figure for the item at one
// location. LocationID is 0 on events recorded before levels were kept per location.
type InventoryLevelSynced struct {
	Shop       string    `json:"shop"`
	Key        string    `json:"key"`
	LocationID int64     `json:"location_id,omitempty"`
	Available  int       `json:"available"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// InventoryBackordered records a shipment of more units than the figures
// showed on hand: the goods left (a fulfilment is a fact), so the figures
// were short by Quantity. It stays visible as a backorder until a count or
// Shopify's next level replaces the figures.
type InventoryBackordered struct {
	Shop          string    `json:"shop"`
	Key           string    `json:"key"`
	OrderID       uuid.UUID `json:"order_id"`
	FulfillmentID string    `json:"fulfillment_id"`
	Quantity      int       `json:"quantity"`
	OnHand        int       `json:"on_hand"`
}

// OrderBackordered is InventoryBackordered as the order's timeline shows it,
// recorded on the order's stream with the stock event.
type OrderBackordered struct {
	Key           string `json:"key"`
	FulfillmentID string `json:"fulfillment_id"`
	Quantity      int    `json:"quantity"`
	OnHand        int    `json:"on_hand"`
}

// EventType implements Event.
func (OrderBackordered) EventType() string { return "order.backordered" }

// EventType implements Event.
func (InventoryReserved) EventType() string { return "inventory.reserved" }

// EventType implements Event.
func (InventoryReleased) EventType() string { return "inventory.released" }

// EventType implements Event.
func (InventoryCommitted) EventType() string { return "inventory.committed" }

// EventType implements Event.
func (InventoryAdjusted) EventType() string { return "inventory.adjusted" }

// EventType implements Event.
func (InventoryCounted) EventType() string { return "inventory.counted" }

// EventType implements Event.
func (InventoryLevelSynced) EventType() string { return "inventory.level_synced" }

// EventType implements Event.
func (InventoryBackordered) EventType() string { return "inventory.backordered" }

// InventoryState is a read-only copy of one stock item.
type InventoryState struct {
	Shop            string    `json:"shop"`
	Key             string    `json:"key"`
	OnHand          int       `json:"on_hand"`
	Reserved        int       `json:"reserved"`
	Available       int       `json:"available"`   // OnHand - Reserved; negative when oversold
	Backordered     int       `json:"backordered"` // max(0, Reserved - OnHand) + Shortfall
	Shortfall       int       `json:"shortfall"`   // units shipped beyond the figures since the last count or level
	ShopifySyncedAt time.Time `json:"shopify_synced_at"`
	// ShopifyLevels is Shopify's available figure per location id.
	ShopifyLevels map[int64]int `json:"shopify_levels,omitempty"`
	Version       int           `json:"version"`
}

// Inventory is the stock of one item (SKU or variant) of one shop. Overselling
// is allowed, but only as an explicit, visible backorder.
type Inventory struct {
	shop, key string
	onHand    int
	reserved  int
	// held maps an order to the units it still holds. An order keeps its entry
	// after release or shipment, so a redelivered reserve is still recognised.
	held      map[uuid.UUID]int
	committed map[string]bool   // "<order id>/<fulfillment id>"
	shipped   map[uuid.UUID]int // units of an order's shipments taken off the shelf
	shortfall int
	// levels and levelAt are Shopify's available figure per location and
	// when Shopify stated it: on hand is their sum plus our reservations.
	levels   map[int64]int
	levelAt  map[int64]time.Time
	syncedAt time.Time
	version  int
}

// NewInventory returns the empty stock item (shop, key), ready for its history
// or its first command.
func NewInventory(shop, key string) (*Inventory, error) {
	var f fieldErrors
	if !ValidShopDomain(shop) {
		f.add("shop", "must be a shop domain like demo.myshopify.com")
	}
	if strings.TrimSpace(key) == "" {
		f.add("key", "is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return &Inventory{shop: shop, key: key, held: map[uuid.UUID]int{}, committed: map[string]bool{},
		shipped: map[uuid.UUID]int{}, levels: map[int64]int{}, levelAt: map[int64]time.Time{}}, nil
}

// Apply changes the stock item by one event.
func (inv *Inventory) Apply(e Event) {
	switch e := e.(type) {
	case InventoryReserved:
		inv.held[e.OrderID] += e.Quantity
		inv.reserved += e.Quantity
	case InventoryReleased:
		inv.held[e.OrderID] -= e.Quantity
		inv.reserved -= e.Quantity
	case InventoryCommitted:
		// A shipment beyond the figures is preceded by inventory.backordered.
		inv.onHand = max(0, inv.onHand-e.Quantity)
		inv.held[e.OrderID] -= e.Released
		inv.reserved -= e.Released
		inv.committed[commitKey(e.OrderID, e.FulfillmentID)] = true
		inv.shipped[e.OrderID] += e.Quantity
	case InventoryBackordered:
		inv.shortfall += e.Quantity
	case InventoryAdjusted:
		inv.onHand += e.Delta
	case InventoryCounted:
		inv.onHand, inv.shortfall = e.OnHand, 0
	case InventoryLevelSynced:
		// Shopify's available is on hand minus what it has committed; our
		// reservations play that part, so on hand is the locations'
		// available plus reserved.
		inv.levels[e.LocationID] = e.Available
		inv.levelAt[e.LocationID] = e.UpdatedAt.UTC()
		total := 0
		for _, n := range inv.levels {
			total += n
		}
		inv.onHand, inv.shortfall = max(0, total+inv.reserved), 0
		inv.syncedAt = e.UpdatedAt.UTC()
	}
	inv.version++
}

func commitKey(orderID uuid.UUID, fulfillmentID string) string {
	return orderID.String() + "/" + fulfillmentID
}

// Reserve sets qty units aside for an order. An order reserves at most once
// per item, so callers sum an order's lines per key; a second call returns no
// events, which makes redelivered order events harmless.
func (inv *Inventory) Reserve(orderID uuid.UUID, qty int) ([]Event, error) {
	var f fieldErrors
	if orderID == uuid.Nil {
		f.add("order_id", "is required")
	}
	if qty <= 0 {
		f.add("quantity", "must be positive")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	if _, ok := inv.held[orderID]; ok {
		return nil, nil
	}
	backordered := qty - max(0, inv.onHand-inv.reserved)
	return []Event{InventoryReserved{
		Shop: inv.shop, Key: inv.key, OrderID: orderID, Quantity: qty, Backordered: max(0, backordered),
	}}, nil
}

// Hold makes an order hold what it still needs of the item after an edit
// or a refund changed its lines: wanted, the order's current quantity of the
// item (0 when cancelled), less the units its shipments already took. More
// is reserved, less released; an order already holding that returns no
// events, so the same or a repeated change is harmless.
func (inv *Inventory) Hold(orderID uuid.UUID, wanted int) ([]Event, error) {
	var f fieldErrors
	if orderID == uuid.Nil {
		f.add("order_id", "is required")
	}
	if wanted < 0 {
		f.add("quantity", "must not be negative")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	switch delta := max(0, wanted-inv.shipped[orderID]) - inv.held[orderID]; {
	case delta > 0:
		return []Event{InventoryReserved{Shop: inv.shop, Key: inv.key, OrderID: orderID, Quantity: delta,
			Backordered: max(0, delta-max(0, inv.onHand-inv.reserved))}}, nil
	case delta < 0:
		return []Event{InventoryReleased{Shop: inv.shop, Key: inv.key, OrderID: orderID, Quantity: -delta}}, nil
	}
	return nil, nil
}

// Release gives back whatever the order still holds, for a cancelled order.
// It returns no events when the order holds nothing.
func (inv *Inventory) Release(orderID uuid.UUID) ([]Event, error) {
	if orderID == uuid.Nil {
		return nil, invalid("order_id", "is required")
	}
	qty := inv.held[orderID]
	if qty == 0 {
		return nil, nil
	}
	return []Event{InventoryReleased{Shop: inv.shop, Key: inv.key, OrderID: orderID, Quantity: qty}}, nil
}

// Commit takes qty shipped units off the shelf and out of the order's
// reservation. It is idempotent per (order, fulfillment id). Shipping more than
// is on hand is never refused, since the goods have left: the part beyond the
// figures is recorded as inventory.backordered first.
func (inv *Inventory) Commit(orderID uuid.UUID, fulfillmentID string, qty int) ([]Event, error) {
	var f fieldErrors
	if orderID == uuid.Nil {
		f.add("order_id", "is required")
	}
	if fulfillmentID == "" {
		f.add("fulfillment_id", "is required")
	}
	if qty <= 0 {
		f.add("quantity", "must be positive")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	if inv.committed[commitKey(orderID, fulfillmentID)] {
		return nil, nil
	}
	var events []Event
	if qty > inv.onHand {
		events = append(events, InventoryBackordered{
			Shop: inv.shop, Key: inv.key, OrderID: orderID, FulfillmentID: fulfillmentID,
			Quantity: qty - inv.onHand, OnHand: inv.onHand,
		})
	}
	return append(events, InventoryCommitted{
		Shop: inv.shop, Key: inv.key, OrderID: orderID, FulfillmentID: fulfillmentID,
		Quantity: qty, Released: min(qty, inv.held[orderID]),
	}), nil
}

// Adjust changes stock on hand by delta, for goods received, damaged or lost.
func (inv *Inventory) Adjust(delta int, reason string) ([]Event, error) {
	var f fieldErrors
	reason = strings.TrimSpace(reason)
	if reason == "" {
		f.add("reason", "is required")
	}
	switch {
	case delta == 0:
		f.add("delta", "must not be zero")
	case inv.onHand+delta < 0:
		f.add("delta", "would leave %d on hand", inv.onHand+delta)
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return []Event{InventoryAdjusted{Shop: inv.shop, Key: inv.key, Delta: delta, Reason: reason}}, nil
}

// Count replaces stock on hand with a counted figure. A count equal to the
// current figure is still recorded: that it was checked is itself a fact.
func (inv *Inventory) Count(onHand int, reason string) ([]Event, error) {
	var f fieldErrors
	reason = strings.TrimSpace(reason)
	if reason == "" {
		f.add("reason", "is required")
	}
	if onHand < 0 {
		f.add("on_hand", "must not be negative")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return []Event{InventoryCounted{Shop: inv.shop, Key: inv.key, OnHand: onHand, Reason: reason}}, nil
}

// SetAvailableFromShopify records Shopify's available figure at a location
// from an inventory_levels/update webhook; per location the latest updated_at
// wins, so an older or repeated level returns no events. Shopify reports a
// negative figure when it oversold; on hand then becomes zero and our
// reservations show the backorder.
func (inv *Inventory) SetAvailableFromShopify(level StockLevel) ([]Event, error) {
	if level.UpdatedAt.IsZero() {
		return nil, invalid("updated_at", "is required")
	}
	if level.LocationID < 0 {
		return nil, invalid("location_id", "must not be negative")
	}
	if !level.UpdatedAt.After(inv.levelAt[level.LocationID]) {
		return nil, nil
	}
	return []Event{InventoryLevelSynced{Shop: inv.shop, Key: inv.key, LocationID: level.LocationID,
		Available: level.Available, UpdatedAt: level.UpdatedAt.UTC()}}, nil
}

// Snapshot returns the item's current figures.
func (inv *Inventory) Snapshot() InventoryState {
	s := InventoryState{
		Shop: inv.shop, Key: inv.key, OnHand: inv.onHand, Reserved: inv.reserved,
		Available: inv.onHand - inv.reserved, Backordered: max(0, inv.reserved-inv.onHand) + inv.shortfall,
		Shortfall: inv.shortfall, ShopifySyncedAt: inv.syncedAt, Version: inv.version,
	}
	if len(inv.levels) > 0 {
		s.ShopifyLevels = maps.Clone(inv.levels)
	}
	return s
}

// Held returns the units the order still holds of this item.
func (inv *Inventory) Held(orderID uuid.UUID) int { return inv.held[orderID] }

// Version returns the number of events applied.
func (inv *Inventory) Version() int { return inv.version }
