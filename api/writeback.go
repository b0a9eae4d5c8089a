package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/shopify"
)

// WriteBackSource marks the events a merchant's action on a Shopify order
// appends: Shopify's answer, applied as the snapshot it is.
const WriteBackSource = "shopify-write-back"

// shopifyOrders is the Admin API a merchant's actions on Shopify orders go
// through, for one shop with its access token.
type shopifyOrders struct {
	admin       *shopify.AdminClient
	shop, token string
}

// remoteAction sends an action on a Shopify order to Shopify and returns
// the order as Shopify has it after (a webhook-shaped body).
type remoteAction func(ctx context.Context, api shopifyOrders, o domain.OrderState) (json.RawMessage, error)

// ShopifyError is one of Shopify's reasons for refusing an action.
type ShopifyError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code,omitempty"`
}

// writeBack runs an action on a Shopify order: Shopify first, then the
// order follows Shopify's answer. The webhooks the action causes carry the
// same updated_at and add nothing; a refusal changes nothing here.
func (s *server) writeBack(c *gin.Context, o *domain.Order, action remoteAction) {
	ctx := c.Request.Context()
	st := o.Snapshot()
	api, ok := s.shopifyAccess(c, st.Shop)
	if !ok {
		return
	}
	body, err := action(ctx, api, st)
	if errors.Is(err, shopify.ErrOrderTooLarge) {
		// Shopify took the action; the order follows from its webhooks.
		resp, err := orderResponse(http.StatusAccepted, o, eventstore.AppendResult{Stream: domain.OrderStream(st.ID), Version: int64(st.Version)})
		if err != nil {
			s.problemFromError(c, err)
			return
		}
		resp.write(c)
		return
	}
	if err != nil {
		s.shopifyProblem(c, err)
		return
	}
	snap, err := shopify.DecodeOrder(body)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	meta := eventMetaFor(c, principalFrom(c).Actor(), WriteBackSource)
	order, res, err := updateAggregateAs(c, s, domain.OrderStream(st.ID), precondition{}, meta, s.ownOrder(st.Shop),
		func(o *domain.Order) ([]domain.Event, error) { return o.ApplyShopifySnapshot(snap, st.Shop) })
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	resp, err := orderResponse(http.StatusOK, order, res)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	resp.write(c)
}

// shopifyAccess is the Admin API with the shop's access token, or false
// when the request was answered: the server has no Admin API, or no token.
func (s *server) shopifyAccess(c *gin.Context, shop string) (shopifyOrders, bool) {
	if s.Shopify == nil || s.Shopify.Admin == nil {
		abortProblem(c, http.StatusServiceUnavailable, "this lives in Shopify, and this server does not talk to Shopify's Admin API")
		return shopifyOrders{}, false
	}
	token, err := s.Shops.AccessToken(c.Request.Context(), shop)
	if err != nil {
		s.Logger.WarnContext(c.Request.Context(), "write-back without an access token", "shop", shop, "err", err)
		abortProblem(c, http.StatusConflict, "this lives in Shopify, and Ordermill has no Admin API access to the shop: install the app again")
		return shopifyOrders{}, false
	}
	return shopifyOrders{admin: s.Shopify.Admin, shop: shop, token: token}, true
}

// remoteStock sends a change of an inventory item's stock to Shopify and
// returns the location it changed and the available quantity there after.
type remoteStock func(ctx context.Context, api shopifyOrders, inventoryItemID int64, levels map[int64]int) (location int64, available int, err error)

// errAnswered: the request was answered already (a problem was written).
var errAnswered = errors.New("answered")

// stockWriteBack runs a stock change of an item Shopify keeps the figures
// of: Shopify first, then the item takes Shopify's new level, as the
// inventory_levels/update webhook that follows would.
func (s *server) stockWriteBack(c *gin.Context, inv *domain.Inventory, load func([]domain.Event) (*domain.Inventory, error),
	remote remoteStock) (*domain.Inventory, eventstore.AppendResult, error) {
	ctx := c.Request.Context()
	st := inv.Snapshot()
	api, ok := s.shopifyAccess(c, st.Shop)
	if !ok {
		return nil, eventstore.AppendResult{}, errAnswered
	}
	var item int64
	err := s.Store.Pool().QueryRow(ctx, `SELECT (data->>'inventory_item_id')::bigint FROM events
		WHERE tenant_id = $1 AND event_type = 'inventory_item.mapped' AND data->>'key' = $2
		ORDER BY global_position DESC LIMIT 1`, st.Shop, st.Key).Scan(&item)
	if errors.Is(err, pgx.ErrNoRows) {
		abortProblem(c, http.StatusConflict, "Shopify keeps this item's stock, and its Shopify inventory item is not known yet")
		return nil, eventstore.AppendResult{}, errAnswered
	}
	if err != nil {
		return nil, eventstore.AppendResult{}, err
	}
	loc, available, err := remote(ctx, api, item, st.ShopifyLevels)
	if err != nil {
		s.shopifyProblem(c, err)
		return nil, eventstore.AppendResult{}, errAnswered
	}
	meta := eventMetaFor(c, principalFrom(c).Actor(), WriteBackSource)
	return updateAggregateAs(c, s, domain.InventoryStream(st.Shop, st.Key), precondition{}, meta, load,
		func(inv *domain.Inventory) ([]domain.Event, error) {
			return inv.SetAvailableFromShopify(domain.StockLevel{LocationID: loc, Available: available, UpdatedAt: time.Now()})
		})
}

// shopifyProblem answers an action Shopify refused or did not answer.
func (s *server) shopifyProblem(c *gin.Context, err error) {
	var refused shopify.UserErrors
	switch {
	case errors.As(err, &refused):
		reasons := make([]string, len(refused))
		p := Problem{Type: "about:blank", Title: http.StatusText(http.StatusUnprocessableEntity), Status: http.StatusUnprocessableEntity,
			Instance: c.Request.URL.Path, ShopifyErrors: make([]ShopifyError, len(refused))}
		for i, u := range refused {
			reasons[i] = u.Message
			p.ShopifyErrors[i] = ShopifyError{Field: u.Field, Message: u.Message, Code: u.Code}
		}
		p.Detail = "Shopify refused: " + strings.Join(reasons, "; ")
		c.Header("Content-Type", "application/problem+json")
		c.AbortWithStatusJSON(p.Status, p)
	case errors.Is(err, shopify.ErrAdminUnauthorized):
		abortProblem(c, http.StatusBadGateway, "Shopify refused Ordermill's access to the shop: install the app again")
	case errors.Is(err, shopify.ErrAdminThrottled), errors.Is(err, shopify.ErrAdminUnavailable), errors.Is(err, shopify.ErrAdminTimeout),
		errors.Is(err, shopify.ErrAdminBadResponse):
		s.Logger.WarnContext(c.Request.Context(), "write-back failed", "err", err, "path", c.Request.URL.Path)
		c.Header("Retry-After", "5")
		abortProblem(c, http.StatusServiceUnavailable, "Shopify did not answer; nothing changed here, and trying again is safe")
	default:
		s.problemFromError(c, err)
	}
}

// ownOrder loads an order of the caller's shop; another shop's is not found.
func (s *server) ownOrder(shop string) func([]domain.Event) (*domain.Order, error) {
	return func(history []domain.Event) (*domain.Order, error) {
		o, err := domain.NewOrderFromHistory(history)
		if err == nil && o.Snapshot().Shop != shop {
			err = errNotFound
		}
		return o, err
	}
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
		switch {
		case err != nil || !slices.ContainsFunc(o.Lines, func(l domain.Line) bool { return l.ID == lq.LineID }):
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
