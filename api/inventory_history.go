package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// inventoryChange is one event of a stock item's stream, told as what it
// did to the figures.
type inventoryChange struct {
	Version    int64     `json:"version"`
	Kind       string    `json:"kind"`
	RecordedAt time.Time `json:"recorded_at"`
	// Quantity is the units reserved, released, shipped or backordered, the
	// change of an adjustment, the count's on-hand figure or Shopify's
	// available figure at LocationID.
	Quantity   int        `json:"quantity"`
	Reason     string     `json:"reason"`
	OrderID    *uuid.UUID `json:"order_id"`
	LocationID *int64     `json:"location_id"`
	Actor      string     `json:"actor"`
	ActorName  string     `json:"actor_name"`
}

// inventoryHistoryCursor is the oldest version of a page; pages go back in time.
type inventoryHistoryCursor struct {
	Version int64 `json:"v"`
}

// inventoryHistory pages through the item's own stream, newest first: the
// history is the events, not a read model, so it is complete at once.
func (s *server) inventoryHistory(c *gin.Context) {
	var (
		errs queryErrors
		cur  inventoryHistoryCursor
	)
	limit := pageSize(c, &errs)
	before := int64(math.MaxInt32) // stream_version is an integer column
	if decodeCursor(c, &cur, &errs) {
		before = cur.Version
	}
	if errs.answered(c) {
		return
	}
	shop, key := principalFrom(c).Shop, c.Param("key")
	events, err := s.Store.QueryEvents(c.Request.Context(), `SELECT `+eventstore.EventColumns+` FROM events
		WHERE stream_id = $1 AND stream_version < $2 ORDER BY stream_version DESC LIMIT `+strconv.Itoa(limit+1),
		domain.InventoryStream(shop, key), before)
	if err == nil && len(events) == 0 && before == math.MaxInt32 {
		err = errNotFound
	}
	if err != nil {
		s.problemFromError(c, fmt.Errorf("inventory %s history: %w", key, err))
		return
	}
	names, err := s.actorNames(c.Request.Context(), shop, events)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	p := page[inventoryChange]{Items: make([]inventoryChange, 0, len(events))}
	for _, e := range events[:min(len(events), limit)] {
		ch, err := describeInventoryEvent(e)
		if err != nil {
			s.problemFromError(c, err)
			return
		}
		ch.ActorName = names[ch.Actor]
		p.Items = append(p.Items, ch)
	}
	if len(events) > limit {
		p.NextCursor = encodeCursor(inventoryHistoryCursor{Version: events[limit-1].StreamVersion})
	}
	c.JSON(http.StatusOK, p)
}

func describeInventoryEvent(e eventstore.Event) (inventoryChange, error) {
	ch := inventoryChange{Version: e.StreamVersion, RecordedAt: e.RecordedAt.UTC(),
		Actor: e.Metadata.Actor}
	ev, err := eventstore.DecodeEvent(e.Type, e.Data)
	if err != nil {
		return ch, fmt.Errorf("inventory event %s@%d: %w", e.StreamID, e.StreamVersion, err)
	}
	order := func(id uuid.UUID) *uuid.UUID {
		if id == uuid.Nil {
			return nil
		}
		return &id
	}
	switch ev := ev.(type) {
	case domain.InventoryReserved:
		ch.Kind, ch.Quantity, ch.OrderID = "reserved", ev.Quantity, order(ev.OrderID)
	case domain.InventoryReleased:
		ch.Kind, ch.Quantity, ch.OrderID = "released", ev.Quantity, order(ev.OrderID)
	case domain.InventoryCommitted:
		ch.Kind, ch.Quantity, ch.OrderID = "shipped", ev.Quantity, order(ev.OrderID)
	case domain.InventoryBackordered:
		ch.Kind, ch.Quantity, ch.OrderID = "backordered", ev.Quantity, order(ev.OrderID)
	case domain.InventoryAdjusted:
		ch.Kind, ch.Quantity, ch.Reason = "adjusted", ev.Delta, ev.Reason
	case domain.InventoryCounted:
		ch.Kind, ch.Quantity, ch.Reason = "counted", ev.OnHand, ev.Reason
	case domain.InventoryLevelSynced:
		ch.Kind, ch.Quantity = "shopify_level", ev.Available
		if ev.LocationID != 0 {
			ch.LocationID = &ev.LocationID
		}
	default:
		return ch, fmt.Errorf("inventory event %s@%d: unexpected %s", e.StreamID, e.StreamVersion, e.Type)
	}
	return ch, nil
}
