package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/shopify"
)

// FulfillmentSyncHandlerName is the fulfillment sync worker's handler name.
const FulfillmentSyncHandlerName = "fulfillment-sync"

// ShopTokens gives a shop's Admin API access token.
type ShopTokens interface {
	AccessToken(ctx context.Context, shop string) (string, error)
}

// FulfillmentSync asks the Shopify Admin API for an order's fulfillments
// after the order is placed or a newer Shopify snapshot is applied, and
// records the successful ones it does not know yet as order.fulfilled.
// Webhooks usually carry the same fulfillments; the sync closes the gap when
// a fulfillment webhook is lost or late. The order aggregate skips
// fulfillment ids it has seen, so a redelivery appends nothing.
type FulfillmentSync struct {
	store   *eventstore.Store
	shopify *shopify.AdminClient
	tokens  ShopTokens
	log     *slog.Logger
}

// NewFulfillmentSync returns the fulfillment sync worker.
func NewFulfillmentSync(store *eventstore.Store, admin *shopify.AdminClient, tokens ShopTokens, log *slog.Logger) *FulfillmentSync {
	if log == nil {
		log = slog.Default()
	}
	return &FulfillmentSync{store: store, shopify: admin, tokens: tokens, log: log}
}

// Handler returns the worker for the router.
func (w *FulfillmentSync) Handler() Handler {
	return Handler{Name: FulfillmentSyncHandlerName, Categories: []string{"order"}, Handle: w.handle}
}

func (w *FulfillmentSync) handle(ctx context.Context, e eventstore.Event) error {
	if e.Type != "order.placed" && e.Type != "order.snapshot_applied" {
		return nil
	}
	order, err := loadOrder(ctx, w.store, e.StreamID, 0)
	if err != nil {
		return err
	}
	state := order.Snapshot()
	if state.ShopifyID == 0 {
		return nil
	}
	token, err := w.tokens.AccessToken(ctx, state.Shop)
	if errors.Is(err, shopify.ErrNotInstalled) {
		// No token to ask with until the shop installs the app (again).
		w.log.WarnContext(ctx, "fulfillment sync skipped: shop not installed", "shop", state.Shop, "order", state.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("access token of %s: %w", state.Shop, err)
	}
	fulfillments, found, err := w.shopify.OrderFulfillments(ctx, state.Shop, token, state.ShopifyID)
	if err != nil {
		return err
	}
	if !found {
		// Shopify does not know the order (deleted, or a test shop reset):
		// there is nothing to sync, and asking again would not change that.
		w.log.WarnContext(ctx, "order unknown to Shopify", "shop", state.Shop, "shopify_id", state.ShopifyID, "order", state.ID)
		return nil
	}
	fulfillments = slices.DeleteFunc(fulfillments, func(f shopify.AdminFulfillment) bool { return !f.Successful() })
	slices.SortStableFunc(fulfillments, func(a, b shopify.AdminFulfillment) int { return a.CreatedAt.Compare(b.CreatedAt) })
	res, err := w.store.Update(ctx, e.StreamID, eventstore.AnyVersion, func(history []eventstore.Event) ([]eventstore.NewEvent, error) {
		o, err := orderFromHistory(history)
		if err != nil {
			return nil, err
		}
		var events []domain.Event
		for _, f := range fulfillments {
			lines := make([]domain.LineQuantity, 0, len(f.Lines))
			for _, l := range f.Lines {
				if l.Quantity > 0 {
					lines = append(lines, domain.LineQuantity{LineID: strconv.FormatInt(l.LineItemID, 10), Quantity: l.Quantity})
				}
			}
			evs, err := o.Fulfill(strconv.FormatInt(f.ID, 10), lines, f.CreatedAt)
			if err != nil {
				return nil, fmt.Errorf("fulfillment %d: %w", f.ID, err)
			}
			for _, ev := range evs {
				o.Apply(ev)
			}
			events = append(events, evs...)
		}
		if len(events) == 0 {
			return nil, nil
		}
		return eventstore.Encode(e.Tenant, OutcomeMetadata(FulfillmentSyncHandlerName, e), events...)
	})
	if err != nil {
		return err
	}
	if n := len(res.Events); n > 0 {
		w.log.InfoContext(ctx, "fulfillments recorded", "order", state.ID, "shop", state.Shop, "count", n)
	}
	return nil
}

// loadOrder rebuilds an order from its stream; upTo > 0 stops at that
// version, to see the order as it was when an event happened.
func loadOrder(ctx context.Context, store *eventstore.Store, stream string, upTo int64) (*domain.Order, error) {
	history, err := store.ReadStream(ctx, stream, 1)
	if err != nil {
		return nil, err
	}
	if upTo > 0 && int64(len(history)) > upTo {
		history = history[:upTo]
	}
	return orderFromHistory(history)
}

func orderFromHistory(history []eventstore.Event) (*domain.Order, error) {
	events, err := eventstore.Decode(history)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, errors.New("order stream is empty")
	}
	return domain.NewOrderFromHistory(events)
}
