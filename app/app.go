package app

import (
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/shops"
)

// App runs the use cases on one event store. Its methods are split by use
// case over this package's files.
type App struct {
	store   *eventstore.Store
	now     func() time.Time
	shopify ShopifyAccess   // nil: Shopify orders' actions are refused
	shops   *shops.Registry // nil: shops cannot be registered or installed
}

// New returns the use cases over store.
func New(store *eventstore.Store) *App {
	return &App{store: store, now: time.Now}
}

// Caller is who runs a command: the shop whose aggregates it may touch, and
// the metadata (actor, request, correlation) its events carry.
type Caller struct {
	Shop string
	Meta eventstore.Metadata
}

func (c Caller) by() Option { return By(c.Shop, c.Meta) }

// Precondition is the version a client expects an aggregate to be at (an
// HTTP If-Match); the zero value expects none.
type Precondition struct {
	Version int64
	Present bool
	// Weak marks a weak tag, which If-Match compares strongly and so never
	// matches (RFC 9110 §13.1.1).
	Weak bool
}

// versioned is an aggregate that knows its stream version.
type versioned interface {
	Aggregate
	Version() int
}

// checked wraps load with pre's check. It runs once load has found the
// aggregate to be the caller's, so that a failed precondition never reveals
// another shop's aggregate.
func checked[A versioned](stream string, pre Precondition, load func([]domain.Event) (A, error)) func([]domain.Event) (A, error) {
	return func(history []domain.Event) (A, error) {
		agg, err := load(history)
		if err == nil && pre.Present && (pre.Weak || pre.Version != int64(agg.Version())) {
			err = &eventstore.ConflictError{Stream: stream, Expected: eventstore.Exact(pre.Version)}
		}
		return agg, err
	}
}
