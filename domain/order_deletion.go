package domain

import (
	"time"

	"github.com/google/uuid"
)

// OrderDeletionHeld records an orders/delete that arrived before the order
// itself (Shopify does not order its webhooks). An order's stream starts
// with order.placed, so the deletion waits on a stream of its own and the
// order's first snapshot places it deleted.
type OrderDeletionHeld struct {
	DeletedAt time.Time `json:"deleted_at"`
}

// EventType implements Event.
func (OrderDeletionHeld) EventType() string { return "order.deletion_held" }

// OrderDeletionStream is where a deletion of order id waits for the order:
// "orderdeletion-<uuid>".
func OrderDeletionStream(id uuid.UUID) string { return "orderdeletion-" + id.String() }

// HeldDeletion is a deletion of an order not received yet.
type HeldDeletion struct {
	at      time.Time
	version int
}

// NewHeldDeletion rebuilds a held deletion from its stream; an empty
// stream holds none.
func NewHeldDeletion(history []Event) (*HeldDeletion, error) {
	h := &HeldDeletion{}
	for _, e := range history {
		h.Apply(e)
	}
	return h, nil
}

// Apply changes the held deletion by one event.
func (h *HeldDeletion) Apply(e Event) {
	if e, ok := e.(OrderDeletionHeld); ok && h.at.IsZero() {
		h.at = e.DeletedAt
	}
	h.version++
}

// Hold records a deletion at at; a deletion held already is kept.
func (h *HeldDeletion) Hold(at time.Time) ([]Event, error) {
	if at.IsZero() {
		return nil, invalid("deleted_at", "is required")
	}
	if !h.at.IsZero() {
		return nil, nil
	}
	return []Event{OrderDeletionHeld{DeletedAt: at.UTC()}}, nil
}

// DeletedAt is when the held deletion happened; false when none is held.
func (h *HeldDeletion) DeletedAt() (time.Time, bool) { return h.at, !h.at.IsZero() }

// PlaceDeleted returns placing events followed by the order's deletion at
// at: the first snapshot of an order whose deletion arrived before it.
func PlaceDeleted(placing []Event, at time.Time) ([]Event, error) {
	o, err := NewOrderFromHistory(placing)
	if err != nil {
		return nil, err
	}
	deleted, err := o.DeleteInShopify(at)
	if err != nil {
		return nil, err
	}
	return append(placing, deleted...), nil
}
