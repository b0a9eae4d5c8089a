package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/shopify"
)

// WriteBackSource marks the events a merchant's action on a Shopify order
// or stock item appends: Shopify's answer, applied as what it is.
const WriteBackSource = "shopify-write-back"

// ShopifyWriter sends a merchant's actions on one shop's Shopify orders
// and stock to Shopify (shopify.ShopAdmin is one). Order actions answer the
// order as Shopify has it after, webhook-shaped; refusals are
// shopify.UserErrors.
type ShopifyWriter interface {
	CancelOrder(ctx context.Context, in shopify.CancelInput) (json.RawMessage, error)
	MarkOrderPaid(ctx context.Context, orderID int64) (json.RawMessage, error)
	UpdateOrder(ctx context.Context, orderID int64, note *string, tags []string) (json.RawMessage, error)
	CreateRefund(ctx context.Context, in shopify.RefundInput) (json.RawMessage, error)
	CreateFulfillment(ctx context.Context, in shopify.FulfilInput) (json.RawMessage, error)
	AdjustInventory(ctx context.Context, in shopify.AdjustInput) (available int, err error)
}

// ShopifyAccess opens a shop's ShopifyWriter.
type ShopifyAccess func(ctx context.Context, shop string) (ShopifyWriter, error)

// ErrNoShopifyAccess: the action is Shopify's to take, and Ordermill cannot
// reach the shop's Admin API (none configured, or no token for the shop).
var ErrNoShopifyAccess = errors.New("this lives in Shopify, and Ordermill has no Admin API access to the shop")

// ErrShopifyAccepted: Shopify took the action, and the order is too large
// to read back at once; it follows from Shopify's webhooks.
var ErrShopifyAccepted = errors.New("Shopify accepted; the order follows from its webhooks")

// WithShopify lets the use cases send actions on Shopify orders and stock
// to Shopify; without it they are refused with ErrNoShopifyAccess.
func (a *App) WithShopify(access ShopifyAccess) *App {
	a.shopify = access
	return a
}

// remoteOrder sends an action on a Shopify order to Shopify.
type remoteOrder func(ctx context.Context, w ShopifyWriter, o domain.OrderState) (json.RawMessage, error)

func (a *App) writer(ctx context.Context, shop string) (ShopifyWriter, error) {
	if a.shopify == nil {
		return nil, ErrNoShopifyAccess
	}
	w, err := a.shopify(ctx, shop)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoShopifyAccess, err)
	}
	return w, nil
}

// writeBackOrder runs an action on a Shopify order: Shopify first, then the
// order follows Shopify's answer, applied as the snapshot it is. The
// webhooks the action causes carry the same updated_at and add nothing; a
// refusal changes nothing here.
func (a *App) writeBackOrder(ctx context.Context, by Caller, o *domain.Order, remote remoteOrder) (Result[*domain.Order], error) {
	st := o.Snapshot()
	w, err := a.writer(ctx, st.Shop)
	if err != nil {
		return Result[*domain.Order]{}, err
	}
	body, err := remote(ctx, w, st)
	if errors.Is(err, shopify.ErrOrderTooLarge) {
		err = ErrShopifyAccepted
	}
	if err != nil {
		return Result[*domain.Order]{}, err
	}
	snap, err := shopify.DecodeOrder(body)
	if err != nil {
		return Result[*domain.Order]{}, err
	}
	meta := by.Meta
	meta.Source = WriteBackSource
	stream := domain.OrderStream(st.ID)
	return Update(ctx, a.store, stream, loadOrder(by.Shop), func(o *domain.Order) ([]domain.Event, error) {
		return o.ApplyCurrentShopifySnapshot(snap, st.Shop)
	}, By(by.Shop, meta))
}

// shopifyLines checks requested line quantities against a Shopify order and
// names each line by its Shopify line item id, which Shopify orders' lines
// are named by.
func shopifyLines(o domain.OrderState, lines []domain.LineQuantity) (map[int64]int, error) {
	out := map[int64]int{}
	var bad []domain.FieldError
	for i, lq := range lines {
		field := "lines[" + strconv.Itoa(i) + "]"
		id, err := strconv.ParseInt(lq.LineID, 10, 64)
		known := false
		for _, l := range o.Lines {
			known = known || l.ID == lq.LineID
		}
		switch {
		case err != nil || !known:
			bad = append(bad, domain.FieldError{Field: field + ".line_id", Message: strconv.Quote(lq.LineID) + " is not a line of this order"})
		case out[id] > 0:
			bad = append(bad, domain.FieldError{Field: field + ".line_id", Message: strconv.Quote(lq.LineID) + " is listed twice"})
		case lq.Quantity <= 0:
			bad = append(bad, domain.FieldError{Field: field + ".quantity", Message: "must be positive"})
		default:
			out[id] = lq.Quantity
		}
	}
	if bad != nil {
		return nil, &domain.ValidationError{Fields: bad}
	}
	return out, nil
}

// remoteStock sends a change of a Shopify inventory item's stock to Shopify
// and returns the location it changed and the available quantity there after.
type remoteStock func(ctx context.Context, w ShopifyWriter, inventoryItemID int64, levels map[int64]int) (location int64, available int, err error)

// writeBackStock runs a stock change of an item whose figures Shopify
// keeps: Shopify first, then the item takes Shopify's new level, as the
// inventory_levels/update webhook that follows would.
func (a *App) writeBackStock(ctx context.Context, by Caller, inv *domain.Inventory, remote remoteStock) (Result[*domain.Inventory], error) {
	st := inv.Snapshot()
	w, err := a.writer(ctx, st.Shop)
	if err != nil {
		return Result[*domain.Inventory]{}, err
	}
	var item int64
	err = a.store.Pool().QueryRow(ctx, `SELECT (data->>'inventory_item_id')::bigint FROM events
		WHERE tenant_id = $1 AND event_type = 'inventory_item.mapped' AND data->>'key' = $2
		ORDER BY global_position DESC LIMIT 1`, st.Shop, st.Key).Scan(&item)
	if errors.Is(err, pgx.ErrNoRows) {
		return Result[*domain.Inventory]{}, fmt.Errorf("%w: the item's Shopify inventory item is not known yet", ErrNoShopifyAccess)
	}
	if err != nil {
		return Result[*domain.Inventory]{}, err
	}
	loc, available, err := remote(ctx, w, item, st.ShopifyLevels)
	if err != nil {
		return Result[*domain.Inventory]{}, err
	}
	meta := by.Meta
	meta.Source = WriteBackSource
	return Update(ctx, a.store, domain.InventoryStream(st.Shop, st.Key), LoadInventory(st.Shop, st.Key),
		func(inv *domain.Inventory) ([]domain.Event, error) {
			return inv.SetAvailableFromShopify(domain.StockLevel{LocationID: loc, Available: available, UpdatedAt: time.Now()})
		}, By(by.Shop, meta))
}
