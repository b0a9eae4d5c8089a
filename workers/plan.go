package workers

import (
	"context"
	"errors"
	"slices"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// plan collects what processing webhooks appends, so that it commits in one
// transaction: a webhook's effects with its outcome, a batch's with the batch.
// A dry run is a plan never committed.
type plan struct {
	store   *eventstore.Store
	appends []eventstore.StreamAppend
	// stored holds the streams read, as the event store had them.
	stored map[string][]eventstore.Event
	// effects change state outside the event store (a shop marked
	// uninstalled). They run before the commit and must be idempotent: a
	// commit that fails runs them again when it is retried.
	effects []func(context.Context) error
	// committed run once the appends are committed (metrics of what they record).
	committed []func()
	// missing, when not nil, collects the streams decisions would read
	// instead of reading them one by one (see prefetch).
	missing []string
}

// errMissing stops a decision that needs a stream not read yet.
var errMissing = errors.New("stream not read yet")

func newPlan(store *eventstore.Store) *plan {
	return &plan{store: store, appends: []eventstore.StreamAppend{}, stored: map[string][]eventstore.Event{}}
}

// history is stream as stored followed by what the plan already appends to
// it, so that two webhooks of one order in a batch decide in turn.
func (p *plan) history(ctx context.Context, stream string) ([]eventstore.Event, error) {
	stored, ok := p.stored[stream]
	if !ok && p.missing != nil {
		p.missing = append(p.missing, stream)
		return nil, errMissing
	}
	if !ok {
		var err error
		stored, err = p.store.ReadStream(ctx, stream, 1)
		if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
			return nil, err
		}
		p.stored[stream] = stored
	}
	history := slices.Clip(stored)
	for _, a := range p.appends {
		if a.Stream != stream {
			continue
		}
		for _, e := range a.Events {
			history = append(history, eventstore.Event{ID: e.ID, StreamID: stream, StreamVersion: int64(len(history)) + 1,
				Type: e.Type, SchemaVersion: e.SchemaVersion, Tenant: e.Tenant, Data: e.Data, Metadata: e.Metadata})
		}
	}
	return history, nil
}

// update is load–decide–append on one aggregate stream, the events getting
// ids derived from the webhook src (see Outcome). It returns how many events
// the plan appends.
func (p *plan) update(ctx context.Context, src eventstore.Event, tenant, stream string,
	decide func(history []domain.Event) ([]domain.Event, error)) (int, error) {
	stored, err := p.history(ctx, stream)
	if err != nil {
		return 0, err
	}
	history, err := eventstore.Decode(stored)
	if err != nil {
		return 0, err
	}
	events, err := decide(history)
	if err != nil || len(events) == 0 {
		return 0, err
	}
	encoded, err := eventstore.Encode(tenant, eventstore.Metadata{}, events...)
	if err != nil {
		return 0, err
	}
	p.appends = append(p.appends, eventstore.StreamAppend{Stream: stream, Expected: eventstore.Exact(int64(len(stored))),
		Events: Outcome(WebhooksHandler, src, stream, encoded)})
	return len(events), nil
}

// prefetch reads in one query every stream that deciding would read: it runs
// decide once collecting the streams, reads them, and forgets what that
// run planned.
func (p *plan) prefetch(ctx context.Context, decide func() error) error {
	p.missing = []string{}
	_ = decide() // each webhook's decision stops at its first stream not read yet
	missing := p.missing
	p.missing = nil
	p.rewind(planMark{})
	if len(missing) == 0 {
		return nil
	}
	read, err := p.store.ReadStreams(ctx, missing)
	if err != nil {
		return err
	}
	for _, stream := range missing {
		p.stored[stream] = read[stream]
	}
	return nil
}

// planMark is how far a plan had got, to rewind to.
type planMark struct{ appends, effects, committed int }

func (p *plan) mark() planMark { return planMark{len(p.appends), len(p.effects), len(p.committed)} }

// rewind drops what was planned since m.
func (p *plan) rewind(m planMark) {
	p.appends, p.effects, p.committed = p.appends[:m.appends], p.effects[:m.effects], p.committed[:m.committed]
}

// commit runs the effects and then appends everything in one transaction.
func (p *plan) commit(ctx context.Context) error {
	for _, effect := range p.effects {
		if err := effect(ctx); err != nil {
			return err
		}
	}
	if len(p.appends) > 0 {
		if _, err := p.store.AppendStreams(ctx, p.appends...); err != nil {
			return err
		}
	}
	for _, f := range p.committed {
		f()
	}
	return nil
}
