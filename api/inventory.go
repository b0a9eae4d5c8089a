package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/shopify"
)

// inventoryRoutes registers the inventory API on an authenticated group.
func (s *server) inventoryRoutes(g *gin.RouterGroup) {
	read, write := s.require(domain.PermReadInventory), s.require(domain.PermWriteInventory)
	g.GET("/inventory", read, s.listInventory)
	g.GET("/inventory/:key", read, s.getInventory)
	g.POST("/inventory/:key/adjust", write, s.adjustInventory)
	g.POST("/inventory/:key/count", write, s.countInventory)
}

// inventoryItem is one stock item; available is on_hand − reserved and goes
// negative when oversold, backordered is the oversold part.
type inventoryItem struct {
	Key         string `json:"key"`
	OnHand      int    `json:"on_hand"`
	Reserved    int    `json:"reserved"`
	Available   int    `json:"available"`
	Backordered int    `json:"backordered"`
	Version     int64  `json:"version"`
}

const inventoryColumns = `key, on_hand, reserved, available, backordered, version`

func scanInventory(row pgx.Row) (inventoryItem, error) {
	var i inventoryItem
	err := row.Scan(&i.Key, &i.OnHand, &i.Reserved, &i.Available, &i.Backordered, &i.Version)
	return i, err
}

// inventoryCursor is the last key of a page; items are listed by key.
type inventoryCursor struct {
	Key string `json:"k"`
}

func (s *server) listInventory(c *gin.Context) {
	var (
		errs queryErrors
		f    sqlFilter
		cur  inventoryCursor
	)
	limit := pageSize(c, &errs)
	f.add("shop = ?", principalFrom(c).Shop)
	switch c.Query("backordered") {
	case "":
	case "true":
		f.add("backordered > 0")
	case "false":
		f.add("backordered = 0")
	default:
		errs.add("backordered", "must be true or false")
	}
	if decodeCursor(c, &cur, &errs) {
		f.add("key > ?", cur.Key)
	}
	if errs.answered(c) {
		return
	}
	if _, ok := s.awaitMinPosition(c, inventoryProjection); !ok {
		return
	}
	rows, err := s.ReadPool.Query(c.Request.Context(), `SELECT `+inventoryColumns+` FROM inventory_view
		WHERE `+f.sql()+` ORDER BY key LIMIT `+strconv.Itoa(limit+1), f.args...)
	var items []inventoryItem
	if err == nil {
		items, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (inventoryItem, error) { return scanInventory(row) })
	}
	if err != nil {
		s.problemFromError(c, fmt.Errorf("list inventory: %w", err))
		return
	}
	p := page[inventoryItem]{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		p.NextCursor = encodeCursor(inventoryCursor{Key: p.Items[limit-1].Key})
	}
	c.JSON(http.StatusOK, p)
}

func (s *server) getInventory(c *gin.Context) {
	shop, key := principalFrom(c).Shop, c.Param("key")
	if _, ok := s.awaitMinPosition(c, inventoryProjection); !ok {
		return
	}
	item, err := scanInventory(s.ReadPool.QueryRow(c.Request.Context(),
		`SELECT `+inventoryColumns+` FROM inventory_view WHERE shop = $1 AND key = $2`, shop, key))
	if errors.Is(err, pgx.ErrNoRows) {
		err = errNotFound
	}
	if err != nil {
		s.problemFromError(c, fmt.Errorf("inventory %s: %w", key, err))
		return
	}
	c.Header("ETag", etag(item.Version))
	c.JSON(http.StatusOK, item)
}

// inventoryWritten is a write's answer: the item's new figures and the
// position to pass back as X-Min-Position.
type inventoryWritten struct {
	inventoryItem
	Position string `json:"position"`
}

// inventoryCommand answers a stock command; the stream name holds the shop,
// so every item is the caller's own and a first command creates it. An
// item whose figures Shopify keeps (it has Shopify levels) takes changes in
// Shopify first, with remote, when the command has one.
func (s *server) inventoryCommand(c *gin.Context, req any, command func(inv *domain.Inventory) ([]domain.Event, error), remote remoteStock) {
	pre, ok := ifMatch(c)
	if !ok || !bindJSON(c, req) {
		return
	}
	shop, key := principalFrom(c).Shop, strings.TrimSpace(c.Param("key"))
	load := func(history []domain.Event) (*domain.Inventory, error) {
		inv, err := domain.NewInventory(shop, key)
		if err != nil {
			return nil, err
		}
		for _, e := range history {
			inv.Apply(e)
		}
		return inv, nil
	}
	var inShopify *domain.Inventory
	inv, res, err := updateAggregate(c, s, domain.InventoryStream(shop, key), pre, load, func(inv *domain.Inventory) ([]domain.Event, error) {
		if remote != nil && len(inv.Snapshot().ShopifyLevels) > 0 {
			inShopify = inv // nothing is appended before Shopify answers
			return nil, nil
		}
		return command(inv)
	})
	if err == nil && inShopify != nil {
		inv, res, err = s.stockWriteBack(c, inShopify, load, remote)
	}
	if errors.Is(err, errAnswered) {
		return
	}
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	st := inv.Snapshot()
	resp, err := jsonResponse(http.StatusOK, writeHeaders(res.Version, res.Position), inventoryWritten{
		inventoryItem: inventoryItem{Key: st.Key, OnHand: st.OnHand, Reserved: st.Reserved, Available: st.Available,
			Backordered: st.Backordered, Version: int64(st.Version)},
		Position: res.Position.String(),
	})
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	resp.write(c)
}

type adjustRequest struct {
	Delta  int    `json:"delta"`
	Reason string `json:"reason"`
	// LocationID names the Shopify location of an item Shopify keeps the
	// figures of; it may be left out when the item is stocked at one.
	LocationID int64 `json:"location_id,string"`
}

func (s *server) adjustInventory(c *gin.Context) {
	var req adjustRequest
	s.inventoryCommand(c, &req, func(inv *domain.Inventory) ([]domain.Event, error) {
		return inv.Adjust(req.Delta, req.Reason)
	}, func(ctx context.Context, api shopifyOrders, item int64, levels map[int64]int) (int64, int, error) {
		loc := req.LocationID
		if loc == 0 && len(levels) == 1 {
			for only := range levels {
				loc = only
			}
		}
		switch {
		case loc == 0:
			return 0, 0, &domain.ValidationError{Fields: []domain.FieldError{{Field: "location_id",
				Message: fmt.Sprintf("is required: Shopify stocks this item at %d locations", len(levels))}}}
		case req.Delta == 0:
			return 0, 0, &domain.ValidationError{Fields: []domain.FieldError{{Field: "delta", Message: "must not be zero"}}}
		}
		// Shopify takes one of its reasons; any other adjustment is a correction.
		reason := strings.ToLower(strings.TrimSpace(req.Reason))
		if !slices.Contains(shopify.AdjustReasons, reason) {
			reason = "correction"
		}
		available, err := api.admin.AdjustInventory(ctx, api.shop, api.token, shopify.AdjustInput{InventoryItemID: item, LocationID: loc,
			Delta: req.Delta, Reason: reason, Key: cmp.Or(c.GetHeader("Idempotency-Key"), uuid.NewString())})
		return loc, available, err
	})
}

type countRequest struct {
	OnHand *int   `json:"on_hand"`
	Reason string `json:"reason"`
}

func (s *server) countInventory(c *gin.Context) {
	var req countRequest
	s.inventoryCommand(c, &req, func(inv *domain.Inventory) ([]domain.Event, error) {
		if req.OnHand == nil {
			return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "on_hand", Message: "is required"}}}
		}
		return inv.Count(*req.OnHand, req.Reason)
	}, nil)
}
