package api

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
)

// inventoryRoutes registers the inventory API on an authenticated group.
func (s *server) inventoryRoutes(g *gin.RouterGroup) {
	read, write := s.require(domain.PermReadInventory), s.require(domain.PermWriteInventory)
	g.GET("/inventory", read, s.listInventory)
	g.GET("/inventory/:key", read, s.getInventory)
	g.GET("/inventory/:key/history", read, s.inventoryHistory)
	g.POST("/inventory/:key/adjust", write, s.adjustInventory)
	g.POST("/inventory/:key/count", write, s.countInventory)
}

// inventoryItem is one stock item; available is on_hand − reserved and goes
// negative when oversold, backordered is the oversold part.
type inventoryItem struct {
	inventoryFigures
	// Title, VariantTitle, SKU and VariantID are those of the newest order
	// line that sold the item: Shopify's stock webhooks name neither product
	// nor variant.
	Title        string `json:"title"`
	VariantTitle string `json:"variant_title"`
	SKU          string `json:"sku"`
	VariantID    *int64 `json:"variant_id"`
}

// inventoryFigures are an item's stock figures, as a write answers them.
type inventoryFigures struct {
	Key         string `json:"key"`
	OnHand      int    `json:"on_hand"`
	Reserved    int    `json:"reserved"`
	Available   int    `json:"available"`
	Backordered int    `json:"backordered"`
	Version     int64  `json:"version"`
	// Locations are Shopify's available figures per location.
	Locations []inventoryLocation `json:"locations"`
}

func locationsOf(levels map[int64]int) []inventoryLocation {
	out := make([]inventoryLocation, 0, len(levels))
	for _, id := range slices.Sorted(maps.Keys(levels)) {
		out = append(out, inventoryLocation{LocationID: id, Available: levels[id]})
	}
	return out
}

type inventoryLocation struct {
	LocationID int64 `json:"location_id"`
	Available  int   `json:"available"`
}

// inventoryColumns select from inventory_view v; the line is looked up per
// item (order_lines_view_inventory_key).
const inventoryColumns = `v.key, v.on_hand, v.reserved, v.available, v.backordered, v.version, v.shopify_levels,
	coalesce(l.title, ''), coalesce(l.variant_title, ''), coalesce(l.sku, ''), l.variant_id`

const inventoryFrom = ` FROM inventory_view v LEFT JOIN LATERAL (
		SELECT ol.title, ol.variant_title, ol.sku, ol.variant_id FROM order_lines_view ol JOIN orders_view o ON o.id = ol.order_id
		WHERE ol.shop = v.shop AND ol.inventory_key = v.key ORDER BY o.placed_at DESC LIMIT 1) l ON true`

func scanInventory(row pgx.Row) (inventoryItem, error) {
	var (
		i      inventoryItem
		levels map[int64]int
	)
	err := row.Scan(&i.Key, &i.OnHand, &i.Reserved, &i.Available, &i.Backordered, &i.Version, &levels,
		&i.Title, &i.VariantTitle, &i.SKU, &i.VariantID)
	i.Locations = locationsOf(levels)
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
	f.add("v.shop = ?", principalFrom(c).Shop)
	switch c.Query("backordered") {
	case "":
	case "true":
		f.add("v.backordered > 0")
	case "false":
		f.add("v.backordered = 0")
	default:
		errs.add("backordered", "must be true or false")
	}
	if decodeCursor(c, &cur, &errs) {
		f.add("v.key > ?", cur.Key)
	}
	if errs.answered(c) {
		return
	}
	if _, ok := s.awaitMinPosition(c, inventoryProjection); !ok {
		return
	}
	rows, err := s.ReadPool.Query(c.Request.Context(), `SELECT `+inventoryColumns+inventoryFrom+`
		WHERE `+f.sql()+` ORDER BY v.key LIMIT `+strconv.Itoa(limit+1), f.args...)
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
		`SELECT `+inventoryColumns+inventoryFrom+` WHERE v.shop = $1 AND v.key = $2`, shop, key))
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
	inventoryFigures
	Position string `json:"position"`
}

// inventoryCommand answers a stock command on the item named in the path.
func (s *server) inventoryCommand(c *gin.Context, req any,
	command func(by app.Caller, pre app.Precondition, key string) (app.Result[*domain.Inventory], error)) {
	pre, ok := ifMatch(c)
	if !ok || !bindJSON(c, req) {
		return
	}
	res, err := command(callerOf(c), pre, strings.TrimSpace(c.Param("key")))
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	st := res.Aggregate.Snapshot()
	resp, err := jsonResponse(http.StatusOK, writeHeaders(res.Appended.Version, res.Appended.Position), inventoryWritten{
		inventoryFigures: inventoryFigures{Key: st.Key, OnHand: st.OnHand, Reserved: st.Reserved, Available: st.Available,
			Backordered: st.Backordered, Version: int64(st.Version), Locations: locationsOf(st.ShopifyLevels)},
		Position: res.Appended.Position.String(),
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
	// LocationID names the Shopify location of an item Shopify keeps; it
	// may be left out when the item is stocked at one.
	LocationID int64 `json:"location_id,string"`
}

func (s *server) adjustInventory(c *gin.Context) {
	var req adjustRequest
	s.inventoryCommand(c, &req, func(by app.Caller, pre app.Precondition, key string) (app.Result[*domain.Inventory], error) {
		return s.app.AdjustStock(c.Request.Context(), by, pre, app.AdjustStock{Key: key, Delta: req.Delta, Reason: req.Reason,
			LocationID: req.LocationID, IdempotencyKey: c.GetHeader("Idempotency-Key")})
	})
}

type countRequest struct {
	OnHand *int   `json:"on_hand"`
	Reason string `json:"reason"`
}

func (s *server) countInventory(c *gin.Context) {
	var req countRequest
	s.inventoryCommand(c, &req, func(by app.Caller, pre app.Precondition, key string) (app.Result[*domain.Inventory], error) {
		return s.app.CountStock(c.Request.Context(), by, pre, app.CountStock{Key: key, OnHand: req.OnHand, Reason: req.Reason})
	})
}
