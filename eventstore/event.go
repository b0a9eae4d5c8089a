// Package eventstore is Ordermill's source of truth: an append-only PostgreSQL
// table of immutable, hash-chained events, appended with an expected version
// and read per stream or in commit order (never past the horizon). Package
// relay publishes them to Redis Streams.
package eventstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// NewEvent is an event to append. An empty ID gets a random one; callers that
// need idempotent outcomes pass a deterministic ID.
type NewEvent struct {
	ID            uuid.UUID
	Type          string
	SchemaVersion int
	Tenant        string
	Data          json.RawMessage
	Metadata      Metadata
}

// Metadata travels with every event: who and what caused it.
type Metadata struct {
	CorrelationID string `json:"correlation_id,omitempty"`
	CausationID   string `json:"causation_id,omitempty"`
	Actor         string `json:"actor,omitempty"`
	RequestID     string `json:"request_id,omitempty"`
	Source        string `json:"source,omitempty"`
	// TraceParent is the W3C traceparent of the span that appended the
	// event, so a caller's distributed trace reaches what it caused.
	TraceParent string `json:"traceparent,omitempty"`
}

// Event is a stored event.
type Event struct {
	Position      Position        `json:"position"`
	ID            uuid.UUID       `json:"event_id"`
	StreamID      string          `json:"stream_id"`
	StreamVersion int64           `json:"stream_version"`
	Type          string          `json:"event_type"`
	SchemaVersion int             `json:"schema_version"`
	Tenant        string          `json:"tenant_id"`
	Data          json.RawMessage `json:"data"`
	Metadata      Metadata        `json:"metadata"`
	RecordedAt    time.Time       `json:"recorded_at"`
	PrevHash      []byte          `json:"prev_hash"`
	Hash          []byte          `json:"hash"`
}

// Category is the part of a stream id before the first dash ("order" for
// "order-<uuid>"); the relay publishes each category to its own Redis stream.
func Category(streamID string) string {
	c, _, _ := strings.Cut(streamID, "-")
	return c
}

// Position is an event's place in commit order. Global positions are handed
// out before commit, so commit order is (transaction id, global position).
type Position struct {
	TransactionID uint64 `json:"transaction_id"`
	GlobalPos     int64  `json:"global_position"`
}

// Start is the position before the first event.
var Start = Position{}

// After reports whether p comes after q in commit order.
func (p Position) After(q Position) bool {
	if p.TransactionID != q.TransactionID {
		return p.TransactionID > q.TransactionID
	}
	return p.GlobalPos > q.GlobalPos
}

// String renders the opaque position token clients echo back in X-Min-Position.
func (p Position) String() string {
	return strconv.FormatUint(p.TransactionID, 10) + "." + strconv.FormatInt(p.GlobalPos, 10)
}

// ErrBadPosition reports a position token that does not parse.
var ErrBadPosition = errors.New("malformed position token")

// ParsePosition reads a token made by Position.String.
func ParsePosition(s string) (Position, error) {
	tx, pos, ok := strings.Cut(s, ".")
	if !ok {
		return Position{}, fmt.Errorf("%w: %q", ErrBadPosition, s)
	}
	t, err1 := strconv.ParseUint(tx, 10, 64)
	g, err2 := strconv.ParseInt(pos, 10, 64)
	if err1 != nil || err2 != nil || g < 0 {
		return Position{}, fmt.Errorf("%w: %q", ErrBadPosition, s)
	}
	return Position{TransactionID: t, GlobalPos: g}, nil
}
