package audit

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// Moment is a point in the log's history, given either as a wall-clock time
// (events recorded at or before it) or as a position token (events at or
// before it in commit order).
type Moment struct {
	Time     time.Time
	Position eventstore.Position
	// ByPosition says Position is set rather than Time.
	ByPosition bool
}

var positionToken = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

// ParseMoment reads an RFC 3339 time or a position token.
func ParseMoment(s string) (Moment, error) {
	if positionToken.MatchString(s) {
		p, err := eventstore.ParsePosition(s)
		return Moment{Position: p, ByPosition: true}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Moment{}, fmt.Errorf("%q is neither an RFC 3339 time nor a position token", s)
	}
	return Moment{Time: t.UTC()}, nil
}

func (m Moment) String() string {
	if m.ByPosition {
		return "position " + m.Position.String()
	}
	return m.Time.Format(time.RFC3339Nano)
}

// Includes reports whether e had happened at m.
func (m Moment) Includes(e eventstore.Event) bool {
	if m.ByPosition {
		return !e.Position.After(m.Position)
	}
	return !e.RecordedAt.After(m.Time)
}

// ReadStreamAt returns the stream as it was at m: the events that had
// happened by then. Stream versions are appended in order, so that is a prefix.
func (s *Log) ReadStreamAt(ctx context.Context, stream string, m Moment) ([]eventstore.Event, error) {
	events, err := s.store.ReadStream(ctx, stream, 1)
	if err != nil {
		return nil, err
	}
	n := 0
	for n < len(events) && m.Includes(events[n]) {
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s at %s: %w (its first event came later)", stream, m, eventstore.ErrStreamNotFound)
	}
	return events[:n], nil
}

// OrderAt replays an order's stream up to m and returns its state then, with
// the events replayed.
func (s *Log) OrderAt(ctx context.Context, id uuid.UUID, m Moment) (domain.OrderState, []eventstore.Event, error) {
	events, err := s.ReadStreamAt(ctx, domain.OrderStream(id), m)
	if err != nil {
		return domain.OrderState{}, nil, err
	}
	state, err := OrderState(events)
	return state, events, err
}

// OrderState folds stored order events into the order's state.
func OrderState(events []eventstore.Event) (domain.OrderState, error) {
	decoded, err := eventstore.Decode(events)
	if err != nil {
		return domain.OrderState{}, err
	}
	o, err := domain.NewOrderFromHistory(decoded)
	if err != nil {
		return domain.OrderState{}, err
	}
	return o.Snapshot(), nil
}
