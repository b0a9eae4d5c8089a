package api

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/projections"
)

// orderRoutes registers the orders API on an authenticated group.
func (s *server) orderRoutes(g *gin.RouterGroup) {
	read, write := s.require(domain.PermReadOrders), s.require(domain.PermWriteOrders)
	g.POST("/orders", write, s.createOrder)
	g.GET("/orders", read, s.listOrders)
	g.GET("/orders/export", read, s.exportOrders)
	g.GET("/dashboard", read, s.getDashboard)
	g.GET("/orders/:id", read, s.getOrder)
	g.GET("/orders/:id/events", read, s.orderEvents)
	g.POST("/orders/:id/cancel", write, s.cancelOrder)
	g.POST("/orders/:id/pay", write, s.payOrder)
	g.POST("/orders/:id/refund", write, s.refundOrder)
	g.POST("/orders/:id/fulfil", write, s.fulfilOrder)
	g.PATCH("/orders/:id", write, s.annotateOrder)
	g.GET("/cache/stats", s.require(domain.PermAudit), s.cacheStats)
}

// orderWritten is a write's answer: the aggregate's new state and the
// position to pass back as X-Min-Position.
type orderWritten struct {
	orderDetail
	Position string `json:"position"`
}

func orderResponse(status int, res app.Result[*domain.Order]) (storedResponse, error) {
	o := res.Aggregate
	h := writeHeaders(res.Appended.Version, res.Appended.Position)
	if status == http.StatusCreated {
		h["Location"] = "/api/v1/orders/" + o.ID().String()
	}
	return jsonResponse(status, h, orderWritten{orderDetail: orderFromState(o.Snapshot()), Position: res.Appended.Position.String()})
}

type createOrderRequest struct {
	Name         string            `json:"name"`
	Email        string            `json:"email"`
	CustomerName string            `json:"customer_name"`
	Currency     string            `json:"currency"`
	Lines        []createOrderLine `json:"lines"`
	Subtotal     *int64            `json:"subtotal"`  // default: the lines' worth
	Total        *int64            `json:"total"`     // default: the subtotal
	PlacedAt     *time.Time        `json:"placed_at"` // default: now
}

type createOrderLine struct {
	ID        string `json:"id"` // default: the line's 1-based position
	SKU       string `json:"sku"`
	VariantID int64  `json:"variant_id,string,omitempty"`
	Title     string `json:"title"`
	// VariantTitle names the variant when the product has several.
	VariantTitle string `json:"variant_title"`
	Quantity     int    `json:"quantity"`
	UnitPrice    int64  `json:"unit_price"`
}

// command fills the defaults of a manual order; the domain validates it.
func (r createOrderRequest) command(shop string, id uuid.UUID, now time.Time) domain.PlaceOrderCommand {
	cmd := domain.PlaceOrderCommand{
		OrderID: id, Shop: shop, Name: r.Name, Source: domain.SourceAPI, Email: r.Email,
		CustomerName: r.CustomerName, Currency: r.Currency, PlacedAt: now,
	}
	if cmd.Name == "" {
		cmd.Name = "M-" + id.String()[:8]
	}
	if r.PlacedAt != nil {
		cmd.PlacedAt = *r.PlacedAt
	}
	for i, l := range r.Lines {
		if l.ID == "" {
			l.ID = strconv.Itoa(i + 1)
		}
		cmd.Lines = append(cmd.Lines, domain.PlacedLine{
			ID: l.ID, SKU: l.SKU, VariantID: l.VariantID, Title: l.Title, VariantTitle: l.VariantTitle,
			Quantity: l.Quantity, UnitPrice: l.UnitPrice,
		})
		cmd.Subtotal += int64(l.Quantity) * l.UnitPrice
	}
	if r.Subtotal != nil {
		cmd.Subtotal = *r.Subtotal
	}
	cmd.Total = cmd.Subtotal
	if r.Total != nil {
		cmd.Total = *r.Total
	}
	return cmd
}

func (s *server) createOrder(c *gin.Context) {
	var req createOrderRequest
	if !bindJSON(c, &req) {
		return
	}
	by := callerOf(c)
	s.idempotentWrite(c, by.Shop, req, func(ctx context.Context, tx pgx.Tx) (storedResponse, error) {
		res, err := s.app.PlaceOrder(ctx, by, req.command(by.Shop, uuid.New(), time.Now()), app.InTx(tx))
		if err != nil {
			return storedResponse{}, err
		}
		return orderResponse(http.StatusCreated, res)
	})
}

// orderCommand answers a command on an existing order of the caller's shop.
func (s *server) orderCommand(c *gin.Context, req any,
	command func(by app.Caller, pre app.Precondition, id uuid.UUID) (app.Result[*domain.Order], error)) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	pre, ok := ifMatch(c)
	if !ok || !bindJSON(c, req) {
		return
	}
	res, err := command(callerOf(c), pre, id)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	resp, err := orderResponse(http.StatusOK, res)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	resp.write(c)
}

type cancelRequest struct {
	Reason string `json:"reason"`
	// Refund and Restock are for Shopify orders (see app.CancelOrder).
	Refund  bool  `json:"refund"`
	Restock *bool `json:"restock"`
}

func (s *server) cancelOrder(c *gin.Context) {
	var req cancelRequest
	s.orderCommand(c, &req, func(by app.Caller, pre app.Precondition, id uuid.UUID) (app.Result[*domain.Order], error) {
		return s.app.CancelOrder(c.Request.Context(), by, pre, app.CancelOrder{ID: id, Reason: req.Reason, Refund: req.Refund, Restock: req.Restock})
	})
}

type payRequest struct {
	Amount *int64 `json:"amount"` // default: the order total
}

func (s *server) payOrder(c *gin.Context) {
	var req payRequest
	s.orderCommand(c, &req, func(by app.Caller, pre app.Precondition, id uuid.UUID) (app.Result[*domain.Order], error) {
		return s.app.PayOrder(c.Request.Context(), by, pre, app.PayOrder{ID: id, Amount: req.Amount})
	})
}

type refundRequest struct {
	// RefundID makes a retried refund harmless; without one every call refunds.
	RefundID string                `json:"refund_id"`
	Amount   int64                 `json:"amount"`
	Lines    []domain.LineQuantity `json:"lines"`
	Reason   string                `json:"reason"`
	Restock  bool                  `json:"restock"`
}

func (s *server) refundOrder(c *gin.Context) {
	var req refundRequest
	s.orderCommand(c, &req, func(by app.Caller, pre app.Precondition, id uuid.UUID) (app.Result[*domain.Order], error) {
		return s.app.RefundOrder(c.Request.Context(), by, pre, app.RefundOrder{ID: id, RefundID: req.RefundID, Amount: req.Amount,
			Lines: req.Lines, Reason: req.Reason, Restock: req.Restock})
	})
}

type fulfilRequest struct {
	// Lines empty ships everything not yet shipped.
	Lines          []domain.LineQuantity `json:"lines"`
	Carrier        string                `json:"carrier"`
	TrackingNumber string                `json:"tracking_number"`
	TrackingURL    string                `json:"tracking_url"`
	NotifyCustomer bool                  `json:"notify_customer"`
}

func (s *server) fulfilOrder(c *gin.Context) {
	var req fulfilRequest
	s.orderCommand(c, &req, func(by app.Caller, pre app.Precondition, id uuid.UUID) (app.Result[*domain.Order], error) {
		t := domain.Tracking{Company: req.Carrier}
		if n := strings.TrimSpace(req.TrackingNumber); n != "" {
			t.Numbers = []string{n}
		}
		if u := strings.TrimSpace(req.TrackingURL); u != "" {
			t.URLs = []string{u}
		}
		return s.app.FulfilOrder(c.Request.Context(), by, pre, app.FulfilOrder{ID: id, Lines: req.Lines, Tracking: t, Notify: req.NotifyCustomer})
	})
}

type annotateRequest struct {
	Note *string  `json:"note"`
	Tags []string `json:"tags"`
}

func (s *server) annotateOrder(c *gin.Context) {
	var req annotateRequest
	s.orderCommand(c, &req, func(by app.Caller, pre app.Precondition, id uuid.UUID) (app.Result[*domain.Order], error) {
		return s.app.AnnotateOrder(c.Request.Context(), by, pre, app.AnnotateOrder{ID: id, Note: req.Note, Tags: req.Tags})
	})
}

func (s *server) listOrders(c *gin.Context) {
	l, ok := orderListQuery(c, principalFrom(c).Shop)
	if !ok {
		return
	}
	if _, ok := s.awaitMinPosition(c, ordersProjection); !ok {
		return
	}
	p, err := s.queryOrders(c.Request.Context(), l)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

// orderCacheTTL bounds how long a missed invalidation can serve stale data.
const orderCacheTTL = 10 * time.Minute

var (
	cacheRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "ordermill_cache_requests_total",
		Help: "Reads served from a Redis cache (hit) or from the read model (miss).",
	}, []string{"cache", "result"})
	orderCacheHits   = cacheRequests.WithLabelValues("order", "hit")
	orderCacheMisses = cacheRequests.WithLabelValues("order", "miss")
)

// getOrder answers one order, named by its id, Shopify id or name (see lookupOrder).
func (s *server) getOrder(c *gin.Context) {
	ctx := c.Request.Context()
	shop := principalFrom(c).Shop
	waited, ok := s.awaitMinPosition(c, ordersProjection)
	if !ok {
		return
	}
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		if id, ok = s.lookupOrder(c, shop, c.Param("id")); !ok {
			return
		}
	}
	key := projections.OrderCacheKey(s.Prefix, id)
	// After waiting for a position the cache may still hold what the projector
	// is about to delete, so such reads go to the read model.
	if !waited {
		if entry, ok := s.cachedOrder(ctx, key); ok {
			orderCacheHits.Inc()
			if entry.Shop != shop {
				s.problemFromError(c, errNotFound)
				return
			}
			c.Header("ETag", etag(entry.Version))
			c.Data(http.StatusOK, "application/json; charset=utf-8", entry.Body)
			return
		}
	}
	orderCacheMisses.Inc()
	order, err := s.queryOrder(ctx, shop, id)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	body, err := json.Marshal(order)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	entry := projections.CachedOrder{Shop: shop, Version: order.Version, Body: body}
	if err := projections.FillOrderCache(ctx, s.Redis, key, entry, orderCacheTTL); err != nil {
		s.Logger.WarnContext(ctx, "fill order cache", "err", err, "order", id)
	}
	c.Header("ETag", etag(order.Version))
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
}

// cachedOrder reads a cache entry; Redis being down, a tombstone, or an
// entry it cannot read (such as one written by an older version) only costs a miss.
func (s *server) cachedOrder(ctx context.Context, key string) (projections.CachedOrder, bool) {
	var entry projections.CachedOrder
	b, err := s.Redis.Get(ctx, key).Bytes()
	if err == nil {
		entry, err = projections.DecodeCachedOrder(b)
	}
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			s.Logger.WarnContext(ctx, "read order cache", "err", err, "key", key)
		}
		return entry, false
	}
	return entry, !entry.Tombstone()
}

// cacheStats shows this process's order cache hit rate since it started.
func (s *server) cacheStats(c *gin.Context) {
	hits, misses := counterValue(orderCacheHits), counterValue(orderCacheMisses)
	rate := 0.0
	if hits+misses > 0 {
		rate = hits / (hits + misses)
	}
	c.JSON(http.StatusOK, gin.H{"order": gin.H{"hits": int64(hits), "misses": int64(misses), "hit_rate": rate}})
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

// orderEvent is one event of an order's history as auditors see it.
type orderEvent struct {
	Position      string              `json:"position"`
	EventID       uuid.UUID           `json:"event_id"`
	StreamVersion int64               `json:"stream_version"`
	Type          string              `json:"type"`
	SchemaVersion int                 `json:"schema_version"`
	Data          json.RawMessage     `json:"data"`
	Metadata      eventstore.Metadata `json:"metadata"`
	RecordedAt    time.Time           `json:"recorded_at"`
	Hash          string              `json:"hash"`
	PrevHash      string              `json:"prev_hash"`
	// ActorName names the person or API token behind metadata.actor, within
	// the shop; empty for workers, webhooks and who no longer exists.
	ActorName string `json:"actor_name"`
}

// orderEvents reads the order's stream from the event store itself, so the
// history is always complete; X-Min-Position is accepted and already met.
func (s *server) orderEvents(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if _, _, ok := minPosition(c); !ok {
		return
	}
	events, err := s.Store.ReadStream(c.Request.Context(), domain.OrderStream(id), 1)
	if err == nil && events[0].Tenant != principalFrom(c).Shop {
		err = errNotFound
	}
	if err != nil {
		s.problemFromError(c, fmt.Errorf("order %s history: %w", id, err))
		return
	}
	names, err := s.actorNames(c.Request.Context(), principalFrom(c).Shop, events)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	items := make([]orderEvent, len(events))
	for i, e := range events {
		items[i] = orderEvent{
			Position: e.Position.String(), EventID: e.ID, StreamVersion: e.StreamVersion, Type: e.Type,
			SchemaVersion: e.SchemaVersion, Data: e.Data, Metadata: e.Metadata, RecordedAt: e.RecordedAt,
			Hash: hex.EncodeToString(e.Hash), PrevHash: hex.EncodeToString(e.PrevHash), ActorName: names[e.Metadata.Actor],
		}
	}
	c.Header("ETag", etag(int64(len(events))))
	c.JSON(http.StatusOK, gin.H{"items": items})
}

// actorNames maps the user: and token: actors of events to the names of the
// shop's users and API tokens, in one query.
func (s *server) actorNames(ctx context.Context, shop string, events []eventstore.Event) (map[string]string, error) {
	var ids []uuid.UUID
	for _, e := range events {
		kind, id, ok := strings.Cut(e.Metadata.Actor, ":")
		if u, err := uuid.Parse(id); ok && err == nil && (kind == KindUser || kind == KindToken) {
			ids = append(ids, u)
		}
	}
	names := map[string]string{}
	if len(ids) == 0 {
		return names, nil
	}
	rows, err := s.ReadPool.Query(ctx, `SELECT 'user:' || id, name FROM users WHERE shop = $1 AND id = ANY($2)
		UNION ALL SELECT 'token:' || id, name || ' (API token)' FROM api_tokens WHERE shop = $1 AND id = ANY($2)`, shop, ids)
	if err != nil {
		return nil, fmt.Errorf("actor names: %w", err)
	}
	for rows.Next() {
		var actor, name string
		if err := rows.Scan(&actor, &name); err != nil {
			return nil, err
		}
		names[actor] = name
	}
	return names, rows.Err()
}
