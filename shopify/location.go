package shopify

import (
	"strings"
	"time"
)

// Location is a locations/create or locations/update webhook body: the
// name a merchant gave a place that stocks inventory, which stock webhooks
// name by id only.
type Location struct {
	ID        int64
	Name      string
	UpdatedAt time.Time
}

// DecodeLocation decodes and validates a locations/* body.
func DecodeLocation(body []byte) (Location, error) {
	var raw struct {
		ID        jsonNumber `json:"id"`
		Name      string     `json:"name"`
		UpdatedAt string     `json:"updated_at"`
	}
	if err := decodeJSON(body, &raw); err != nil {
		return Location{}, err
	}
	var f fieldErrors
	p := parser{f: &f}
	l := Location{ID: p.id("id", raw.ID), Name: strings.TrimSpace(raw.Name), UpdatedAt: p.time("updated_at", raw.UpdatedAt)}
	if l.ID == 0 {
		f.add("id", "is required")
	}
	if l.Name == "" {
		f.add("name", "is required")
	}
	if l.UpdatedAt.IsZero() {
		f.add("updated_at", "is required")
	}
	if err := f.err(); err != nil {
		return Location{}, err
	}
	return l, nil
}
