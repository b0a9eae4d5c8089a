package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// InventoryHandlerName is the inventory process manager's handler name.
const InventoryHandlerName = "inventory"

// InventoryManager keeps stock in step with orders: order.placed reserves
// each stocked line's units, order.edited, order.refunded and Shopify's
// snapshots make the order hold what its lines still need (a snapshot may
// state lines shipped without listing the shipment), order.cancelled
// releases what the order still holds and order.fulfilled commits the
// shipped units. Each stock item is its
// own stream, so one order event touches several streams one after another;
// the Inventory aggregate is idempotent per order (reserve, release) and per
// fulfillment (commit), so a redelivery after a partial run completes the
// rest and repeats nothing.
//
// A shipment of more units than are on hand is recorded as a backorder on
// the stock item (inventory.backordered) and on the order's timeline
// (order.backordered): the goods left, so it is never a failure.
type InventoryManager struct {
	store *eventstore.Store
	// stock keeps the stock items' histories: every order of an item
	// would read its whole history again.
	stock *app.StreamCache
	log   *slog.Logger
}

// stockItemsCached bounds the stock items whose histories a manager keeps.
const stockItemsCached = 1024

// NewInventoryManager returns the inventory process manager.
func NewInventoryManager(store *eventstore.Store, log *slog.Logger) *InventoryManager {
	if log == nil {
		log = slog.Default()
	}
	return &InventoryManager{store: store, stock: app.NewStreamCache(stockItemsCached), log: log}
}

// Handler returns the process manager for the router.
func (m *InventoryManager) Handler() Handler {
	return Handler{Name: InventoryHandlerName, Categories: []string{"order"}, Handle: m.handle}
}

func (m *InventoryManager) handle(ctx context.Context, e eventstore.Event) error {
	upTo := e.StreamVersion
	switch e.Type {
	case "order.placed", "order.cancelled", "order.fulfilled":
		// The order as it was at this event: later events must not change
		// what this one reserves or commits.
	case "order.edited", "order.refunded", "order.snapshot_applied":
		// What the order holds follows its newest lines, whichever of its
		// changes is handled last.
		upTo = 0
	default:
		return nil
	}
	order, err := loadOrder(ctx, m.store, e.StreamID, upTo)
	if err != nil {
		return err
	}
	state := order.Snapshot()
	keyOf := map[string]string{} // line id → stock key
	for _, l := range state.Lines {
		if key, ok := l.InventoryKey(); ok {
			keyOf[l.ID] = key
		}
	}
	var (
		perKey        = map[string]int{}
		act           func(inv *domain.Inventory, qty int) ([]domain.Event, error)
		fulfillmentID string // of order.fulfilled
	)
	switch e.Type {
	case "order.placed":
		for _, l := range state.Lines {
			if key, ok := keyOf[l.ID]; ok {
				perKey[key] += l.Quantity
			}
		}
		act = func(inv *domain.Inventory, qty int) ([]domain.Event, error) { return inv.Reserve(state.ID, qty) }
	case "order.edited", "order.refunded", "order.snapshot_applied":
		inShipments := map[string]int{} // line id → units its shipments carry, committed when handled
		for _, sh := range state.Shipments {
			for _, lq := range sh.Lines {
				if sh.Status == domain.ShipmentSuccess {
					inShipments[lq.LineID] += lq.Quantity
				}
			}
		}
		for _, l := range state.Lines {
			if key, ok := keyOf[l.ID]; ok {
				// Units Shopify states shipped with no shipment listed
				// left the shelf too; its levels count them, so they are
				// released, not committed.
				stated := max(0, l.FulfilledQuantity-inShipments[l.ID])
				perKey[key] += max(0, l.Quantity-stated)
				if !state.CancelledAt.IsZero() {
					perKey[key] = 0 // a cancelled order holds nothing
				}
			}
		}
		act = func(inv *domain.Inventory, qty int) ([]domain.Event, error) { return inv.Hold(state.ID, qty) }
	case "order.cancelled":
		for _, key := range keyOf {
			perKey[key] = 0
		}
		act = func(inv *domain.Inventory, _ int) ([]domain.Event, error) { return inv.Release(state.ID) }
	case "order.fulfilled":
		d, err := eventstore.DecodeEvent(e.Type, e.Data)
		if err != nil {
			return err
		}
		f := d.(domain.OrderFulfilled)
		fulfillmentID = f.FulfillmentID
		for _, lq := range f.Lines {
			if key, ok := keyOf[lq.LineID]; ok {
				perKey[key] += lq.Quantity
			}
		}
		act = func(inv *domain.Inventory, qty int) ([]domain.Event, error) {
			return inv.Commit(state.ID, f.FulfillmentID, qty)
		}
	}
	var backorders []domain.Event
	for _, key := range slices.Sorted(maps.Keys(perKey)) {
		events, err := m.apply(ctx, e, state.Shop, key, func(inv *domain.Inventory) ([]domain.Event, error) {
			return act(inv, perKey[key])
		})
		if err != nil {
			return fmt.Errorf("%s of order %s on %s: %w", e.Type, state.ID, key, err)
		}
		for _, ev := range events {
			// Found in the item's history too, so a redelivery after a crash
			// still records the order's side.
			if b, ok := ev.(domain.InventoryBackordered); ok && fulfillmentID != "" &&
				b.OrderID == state.ID && b.FulfillmentID == fulfillmentID {
				backorders = append(backorders, domain.OrderBackordered{Key: key, FulfillmentID: b.FulfillmentID, Quantity: b.Quantity, OnHand: b.OnHand})
			}
		}
	}
	return m.recordBackorders(ctx, e, state.Shop, backorders)
}

// recordBackorders appends the order's side of its backorders once: the ids
// derive from the source event, so a redelivery is refused as a duplicate.
func (m *InventoryManager) recordBackorders(ctx context.Context, source eventstore.Event, shop string, backorders []domain.Event) error {
	if len(backorders) == 0 {
		return nil
	}
	_, err := app.Append(ctx, m.store, source.StreamID, backorders, app.By(shop, eventstore.Metadata{}), app.CausedBy(InventoryHandlerName, source))
	if errors.Is(err, eventstore.ErrDuplicateEvent) {
		return nil
	}
	return err
}

// apply runs one command on a stock item, retrying on concurrent writers,
// and returns the item's whole history of events, the new ones included.
func (m *InventoryManager) apply(ctx context.Context, source eventstore.Event, shop, key string,
	cmd func(*domain.Inventory) ([]domain.Event, error)) ([]domain.Event, error) {
	var history []domain.Event
	load := app.LoadInventory(shop, key)
	res, err := app.Update(ctx, m.store, domain.InventoryStream(shop, key),
		func(h []domain.Event) (*domain.Inventory, error) { history = h; return load(h) },
		cmd, app.By(shop, app.OutcomeMetadata(InventoryHandlerName, source)), app.Cached(m.stock))
	return append(history, res.Events...), err
}
