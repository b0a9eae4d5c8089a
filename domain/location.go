package domain

import (
	"strconv"
	"strings"
	"time"
)

// LocationNamed records the name Shopify gives one of a shop's locations
// (a store, a warehouse), which stock levels name by id only.
type LocationNamed struct {
	Shop       string    `json:"shop"`
	LocationID int64     `json:"location_id"`
	Name       string    `json:"name"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// EventType implements Event.
func (LocationNamed) EventType() string { return "location.named" }

// LocationStream is the stream of one Shopify location of a shop:
// "location-<shop>:<location id>".
func LocationStream(shop string, id int64) string {
	return "location-" + shop + ":" + strconv.FormatInt(id, 10)
}

// Location is one Shopify location of a shop and its newest name.
type Location struct {
	shop    string
	id      int64
	name    string
	at      time.Time
	version int
}

// NewLocation returns location id of shop, ready for its history or its
// first command.
func NewLocation(shop string, id int64) (*Location, error) {
	var f fieldErrors
	if !ValidShopDomain(shop) {
		f.add("shop", "must be a shop domain like demo.myshopify.com")
	}
	if id <= 0 {
		f.add("location_id", "is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return &Location{shop: shop, id: id}, nil
}

// Apply changes the location by one event.
func (l *Location) Apply(e Event) {
	if e, ok := e.(LocationNamed); ok {
		l.name, l.at = e.Name, e.UpdatedAt
	}
	l.version++
}

// Name records the location's name as Shopify stated it at updatedAt; an
// older statement or the name already known returns no events, so
// webhooks may arrive in any order.
func (l *Location) Name(name string, updatedAt time.Time) ([]Event, error) {
	name = strings.TrimSpace(name)
	var f fieldErrors
	if name == "" {
		f.add("name", "is required")
	}
	if updatedAt.IsZero() {
		f.add("updated_at", "is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	if !updatedAt.After(l.at) || name == l.name {
		return nil, nil
	}
	return []Event{LocationNamed{Shop: l.shop, LocationID: l.id, Name: name, UpdatedAt: updatedAt.UTC()}}, nil
}

// Version returns the number of events applied.
func (l *Location) Version() int { return l.version }
