package workers

import (
	"context"
	"errors"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// loadOrder rebuilds an order from its stream; upTo > 0 stops at that
// version, to see the order as it was when an event happened.
func loadOrder(ctx context.Context, store *eventstore.Store, stream string, upTo int64) (*domain.Order, error) {
	history, err := store.ReadStream(ctx, stream, 1)
	if err != nil {
		return nil, err
	}
	if upTo > 0 && int64(len(history)) > upTo {
		history = history[:upTo]
	}
	return orderFromHistory(history)
}

func orderFromHistory(history []eventstore.Event) (*domain.Order, error) {
	events, err := eventstore.Decode(history)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, errors.New("order stream is empty")
	}
	return domain.NewOrderFromHistory(events)
}
