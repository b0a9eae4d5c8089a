package workers

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// InventoryHandlerName is the inventory process manager's handler name.
const InventoryHandlerName = "inventory"

// InventoryManager keeps stock in step with orders: order.placed reserves
// each stocked line's units, order.cancelled releases what the order still
// holds and order.fulfilled commits the shipped units. Each stock item is its
// own stream, so one order event touches several streams one after another;
// the Inventory aggregate is idempotent per order (reserve, release) and per
// fulfillment (commit), so a redelivery after a partial run completes the
// rest and repeats nothing.
//
// A shipment of more units than are on hand is domain.ErrInsufficientStock:
// the figures need a stock count, and the event goes to the dead letters,
// from where it is re-queued once stock is counted.
type InventoryManager struct {
	store *eventstore.Store
	log   *slog.Logger
}

// NewInventoryManager returns the inventory process manager.
func NewInventoryManager(store *eventstore.Store, log *slog.Logger) *InventoryManager {
	if log == nil {
		log = slog.Default()
	}
	return &InventoryManager{store: store, log: log}
}

// Handler returns the process manager for the router.
func (m *InventoryManager) Handler() Handler {
	return Handler{Name: InventoryHandlerName, Categories: []string{"order"}, Handle: m.handle}
}

func (m *InventoryManager) handle(ctx context.Context, e eventstore.Event) error {
	if e.Type != "order.placed" && e.Type != "order.cancelled" && e.Type != "order.fulfilled" {
		return nil
	}
	// The order as it was at this event: later events must not change what
	// this one reserves or commits.
	order, err := loadOrder(ctx, m.store, e.StreamID, e.StreamVersion)
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
		perKey = map[string]int{}
		act    func(inv *domain.Inventory, qty int) ([]domain.Event, error)
	)
	switch e.Type {
	case "order.placed":
		for _, l := range state.Lines {
			if key, ok := keyOf[l.ID]; ok {
				perKey[key] += l.Quantity
			}
		}
		act = func(inv *domain.Inventory, qty int) ([]domain.Event, error) { return inv.Reserve(state.ID, qty) }
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
		for _, lq := range f.Lines {
			if key, ok := keyOf[lq.LineID]; ok {
				perKey[key] += lq.Quantity
			}
		}
		act = func(inv *domain.Inventory, qty int) ([]domain.Event, error) {
			return inv.Commit(state.ID, f.FulfillmentID, qty)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(perKey)) {
		if err := m.apply(ctx, e, state.Shop, key, func(inv *domain.Inventory) ([]domain.Event, error) {
			return act(inv, perKey[key])
		}); err != nil {
			return fmt.Errorf("%s of order %s on %s: %w", e.Type, state.ID, key, err)
		}
	}
	return nil
}

// apply runs one command on a stock item, retrying on concurrent writers.
func (m *InventoryManager) apply(ctx context.Context, source eventstore.Event, shop, key string,
	cmd func(*domain.Inventory) ([]domain.Event, error)) error {
	_, err := m.store.Update(ctx, domain.InventoryStream(shop, key), eventstore.AnyVersion,
		func(history []eventstore.Event) ([]eventstore.NewEvent, error) {
			inv, err := domain.NewInventory(shop, key)
			if err != nil {
				return nil, err
			}
			events, err := eventstore.Decode(history)
			if err != nil {
				return nil, err
			}
			for _, ev := range events {
				inv.Apply(ev)
			}
			out, err := cmd(inv)
			if err != nil || len(out) == 0 {
				return nil, err
			}
			return eventstore.Encode(shop, OutcomeMetadata(InventoryHandlerName, source), out...)
		})
	return err
}
