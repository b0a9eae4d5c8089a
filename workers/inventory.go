package workers

import (
	"context"
	"fmt"
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
// shipped units. It takes order events in batches and commits what a batch
// does to every stock item in one transaction, so a redelivery after a
// crash finds all of it or none; the Inventory aggregate is idempotent per
// order (reserve, release) and per fulfillment (commit) as well.
//
// A shipment of more units than are on hand is recorded as a backorder on
// the stock item (inventory.backordered) and, in the same transaction, on
// the order's timeline (order.backordered): the goods left, so it is never
// a failure.
type InventoryManager struct {
	store *eventstore.Store
	// stock keeps the stock items: every order of an item would read and
	// apply its whole history again.
	stock *app.AggregateCache
}

// stockItemsCached bounds the stock items a manager keeps.
const stockItemsCached = 1024

// NewInventoryManager returns the inventory process manager.
func NewInventoryManager(store *eventstore.Store) *InventoryManager {
	return &InventoryManager{store: store, stock: app.NewAggregateCache(stockItemsCached)}
}

// Handler returns the process manager for the router.
func (m *InventoryManager) Handler() Handler {
	return Handler{Name: InventoryHandlerName, Categories: []string{"order"}, HandleBatch: m.handleBatch, Serial: true}
}

// stockChange is what one order event does to the stock items of its lines:
// act with each key's units.
type stockChange struct {
	source eventstore.Event
	order  domain.OrderState
	perKey map[string]int
	act    func(inv *domain.Inventory, qty int) ([]domain.Event, error)
}

func (m *InventoryManager) handleBatch(ctx context.Context, events []eventstore.Event) []error {
	errs := make([]error, len(events))
	orders, err := m.readOrders(ctx, events)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	changes := make([]*stockChange, len(events))
	for i, e := range events {
		if actsOn(e.Type) {
			changes[i], errs[i] = stockChangeOf(e, orders[e.StreamID])
		}
	}
	var planned []error
	err = app.RunBatch(ctx, m.store, func(b *app.Batch, _ int) error {
		planned = slices.Clone(errs)
		var items []string
		for _, c := range changes {
			if c == nil {
				continue
			}
			for key := range c.perKey {
				items = append(items, domain.InventoryStream(c.order.Shop, key))
			}
		}
		if err := b.PrefetchCached(ctx, m.stock, items...); err != nil {
			return err
		}
		for i, c := range changes {
			if c == nil || planned[i] != nil {
				continue
			}
			mark := b.Mark()
			if planned[i] = m.plan(ctx, b, c); planned[i] != nil {
				b.Rewind(mark)
			}
		}
		return nil
	})
	if err != nil {
		for i, c := range changes {
			if c != nil && planned[i] == nil {
				planned[i] = err
			}
		}
	}
	return planned
}

// readOrders reads, in one query, the histories of the orders whose events
// the manager acts on; a missing order is an empty history.
func (m *InventoryManager) readOrders(ctx context.Context, events []eventstore.Event) (map[string][]domain.Event, error) {
	var streams []string
	for _, e := range events {
		if actsOn(e.Type) && !slices.Contains(streams, e.StreamID) {
			streams = append(streams, e.StreamID)
		}
	}
	if len(streams) == 0 {
		return nil, nil
	}
	read, err := m.store.ReadStreams(ctx, streams)
	if err != nil {
		return nil, err
	}
	orders := make(map[string][]domain.Event, len(streams))
	for _, stream := range streams {
		if orders[stream], err = eventstore.Decode(read[stream]); err != nil {
			return nil, err
		}
	}
	return orders, nil
}

func actsOn(eventType string) bool {
	switch eventType {
	case "order.placed", "order.cancelled", "order.fulfilled", "order.edited", "order.refunded", "order.snapshot_applied":
		return true
	}
	return false
}

// stockChangeOf is what event e of an order with history does to stock.
func stockChangeOf(e eventstore.Event, history []domain.Event) (*stockChange, error) {
	switch e.Type {
	case "order.placed", "order.cancelled", "order.fulfilled":
		// The order as it was at this event: later events must not change
		// what this one reserves or commits.
		history = history[:min(len(history), int(e.StreamVersion))]
	}
	// Otherwise what the order holds follows its newest lines, whichever of
	// its changes is handled last.
	if len(history) == 0 {
		return nil, fmt.Errorf("order stream %s is empty", e.StreamID)
	}
	order, err := domain.NewOrderFromHistory(history)
	if err != nil {
		return nil, err
	}
	state := order.Snapshot()
	keyOf := map[string]string{} // line id → stock key
	for _, l := range state.Lines {
		if key, ok := l.InventoryKey(); ok {
			keyOf[l.ID] = key
		}
	}
	c := &stockChange{source: e, order: state, perKey: map[string]int{}}
	switch e.Type {
	case "order.placed":
		for _, l := range state.Lines {
			if key, ok := keyOf[l.ID]; ok {
				c.perKey[key] += l.Quantity
			}
		}
		c.act = func(inv *domain.Inventory, qty int) ([]domain.Event, error) { return inv.Reserve(state.ID, qty) }
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
				c.perKey[key] += max(0, l.Quantity-stated)
				if !state.CancelledAt.IsZero() {
					c.perKey[key] = 0 // a cancelled order holds nothing
				}
			}
		}
		c.act = func(inv *domain.Inventory, qty int) ([]domain.Event, error) { return inv.Hold(state.ID, qty) }
	case "order.cancelled":
		for _, key := range keyOf {
			c.perKey[key] = 0
		}
		c.act = func(inv *domain.Inventory, _ int) ([]domain.Event, error) { return inv.Release(state.ID) }
	case "order.fulfilled":
		d, err := eventstore.DecodeEvent(e.Type, e.Data)
		if err != nil {
			return nil, err
		}
		f := d.(domain.OrderFulfilled)
		for _, lq := range f.Lines {
			if key, ok := keyOf[lq.LineID]; ok {
				c.perKey[key] += lq.Quantity
			}
		}
		c.act = func(inv *domain.Inventory, qty int) ([]domain.Event, error) {
			return inv.Commit(state.ID, f.FulfillmentID, qty)
		}
	}
	return c, nil
}

// plan plans c's commands on its stock items, and the order's side of the
// backorders they record, in b.
func (m *InventoryManager) plan(ctx context.Context, b *app.Batch, c *stockChange) error {
	shop := c.order.Shop
	var backorders []domain.Event
	for _, key := range slices.Sorted(maps.Keys(c.perKey)) {
		res, err := app.Update(ctx, m.store, domain.InventoryStream(shop, key), app.LoadInventory(shop, key),
			func(inv *domain.Inventory) ([]domain.Event, error) { return c.act(inv, c.perKey[key]) },
			app.By(shop, app.OutcomeMetadata(InventoryHandlerName, c.source)), app.Cached(m.stock), app.Into(b))
		if err != nil {
			return fmt.Errorf("%s of order %s on %s: %w", c.source.Type, c.order.ID, key, err)
		}
		for _, ev := range res.Events {
			// Only a shipment's commit records one, for this order and shipment.
			if bo, ok := ev.(domain.InventoryBackordered); ok {
				backorders = append(backorders, domain.OrderBackordered{Key: key, FulfillmentID: bo.FulfillmentID, Quantity: bo.Quantity, OnHand: bo.OnHand})
			}
		}
	}
	if len(backorders) == 0 {
		return nil
	}
	_, err := app.Append(ctx, m.store, c.source.StreamID, backorders, app.By(shop, eventstore.Metadata{}),
		app.CausedBy(InventoryHandlerName, c.source), app.Into(b))
	return err
}
