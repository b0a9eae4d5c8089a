package app

import (
	"context"
	"errors"
	"slices"

	"github.com/ordermill/ordermill/eventstore"
)

// Batch collects what several decisions append, so that it commits in one
// transaction (Update with Into): a webhook's effects with its outcome, a
// batch of webhooks' with the batch. A dry run is a batch never committed.
type Batch struct {
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
	// instead of reading them one by one (see Prefetch).
	missing []string
	// held are the aggregates of streams updated through a cache (Cached),
	// with what the batch plans applied: they go back to their caches when
	// the batch commits.
	held map[string]heldAggregate
}

// heldAggregate is a cached aggregate a batch holds, and tail the events
// read after it that no update has applied yet.
type heldAggregate struct {
	cachedAggregate
	cache *AggregateCache
	tail  []eventstore.Event
}

// errMissing stops a decision that needs a stream not read yet.
var errMissing = errors.New("stream not read yet")

// NewBatch returns an empty batch over store.
func NewBatch(store *eventstore.Store) *Batch {
	return &Batch{store: store, appends: []eventstore.StreamAppend{}, stored: map[string][]eventstore.Event{},
		held: map[string]heldAggregate{}}
}

// history is stream as stored followed by what the batch already appends to
// it, so that two decisions on one stream in a batch decide in turn.
func (b *Batch) history(ctx context.Context, stream string) ([]eventstore.Event, error) {
	stored, ok := b.stored[stream]
	if !ok && b.missing != nil {
		b.missing = append(b.missing, stream)
		return nil, errMissing
	}
	if !ok {
		var err error
		stored, err = b.store.ReadStream(ctx, stream, 1)
		if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
			return nil, err
		}
		b.stored[stream] = stored
	}
	return b.withPlanned(stream, stored), nil
}

// withPlanned is stored, the stream's events up to some version, followed
// by what the batch already appends to the stream.
func (b *Batch) withPlanned(stream string, stored []eventstore.Event) []eventstore.Event {
	history := slices.Clip(stored)
	for _, a := range b.appends {
		if a.Stream != stream {
			continue
		}
		for _, e := range a.Events {
			history = append(history, eventstore.Event{ID: e.ID, StreamID: stream, StreamVersion: int64(len(history)) + 1,
				Type: e.Type, SchemaVersion: e.SchemaVersion, Tenant: e.Tenant, Data: e.Data, Metadata: e.Metadata})
		}
	}
	return history
}

// hold takes stream's aggregate, as the batch or else c holds it, with the
// events after it: those stored and those the batch plans. Streams read
// through a cache are read when first needed or by PrefetchCached, never
// collected by Prefetch.
func (b *Batch) hold(ctx context.Context, c *AggregateCache, stream string) (cachedAggregate, []eventstore.Event, error) {
	h, ok := b.held[stream]
	if !ok {
		if err := b.PrefetchCached(ctx, c, stream); err != nil {
			return cachedAggregate{}, nil, err
		}
		h = b.held[stream]
	}
	delete(b.held, stream)
	return h.cachedAggregate, h.tail, nil
}

// keep holds stream's aggregate, updated, until the batch commits.
func (b *Batch) keep(stream string, c *AggregateCache, a cachedAggregate) {
	b.held[stream] = heldAggregate{cachedAggregate: a, cache: c}
}

// PrefetchCached reads in one query what updates through c (Cached) would
// read of streams: the events after the aggregates c holds, all of a stream
// it does not hold.
func (b *Batch) PrefetchCached(ctx context.Context, c *AggregateCache, streams ...string) error {
	from := make(map[string]int64, len(streams))
	taken := make(map[string]cachedAggregate, len(streams))
	for _, stream := range streams {
		if _, ok := taken[stream]; ok {
			continue
		}
		if _, ok := b.held[stream]; ok {
			continue
		}
		a := c.take(stream)
		taken[stream], from[stream] = a, a.version+1
	}
	if len(from) == 0 {
		return nil
	}
	read, err := b.store.ReadStreamTails(ctx, from)
	if err != nil {
		return err
	}
	for stream, a := range taken {
		// A batch plans a stream's events after its stored ones.
		b.held[stream] = heldAggregate{cachedAggregate: a, cache: c, tail: b.withPlanned(stream, read[stream])}
	}
	return nil
}

func (b *Batch) add(a eventstore.StreamAppend) { b.appends = append(b.appends, a) }

// Effect plans a change outside the event store, run before the commit; it
// must be idempotent.
func (b *Batch) Effect(f func(context.Context) error) { b.effects = append(b.effects, f) }

// OnCommit runs f once the batch is committed.
func (b *Batch) OnCommit(f func()) { b.committed = append(b.committed, f) }

// Appends is what the batch would append, for a dry run to show.
func (b *Batch) Appends() []eventstore.StreamAppend { return b.appends }

// Prefetch reads in one query every stream that deciding would read: it runs
// decide once collecting the streams, reads them, and forgets what that run
// planned.
func (b *Batch) Prefetch(ctx context.Context, decide func() error) error {
	b.missing = []string{}
	_ = decide() // each decision stops at its first stream not read yet
	missing := b.missing
	b.missing = nil
	b.Rewind(Mark{})
	if len(missing) == 0 {
		return nil
	}
	read, err := b.store.ReadStreams(ctx, missing)
	if err != nil {
		return err
	}
	for _, stream := range missing {
		b.stored[stream] = read[stream]
	}
	return nil
}

// Mark is how far a batch had got, to rewind to.
type Mark struct{ appends, effects, committed int }

// Mark returns how far the batch has got.
func (b *Batch) Mark() Mark { return Mark{len(b.appends), len(b.effects), len(b.committed)} }

// Rewind drops what was planned since m, and the held aggregates it was
// applied to.
func (b *Batch) Rewind(m Mark) {
	for _, a := range b.appends[m.appends:] {
		delete(b.held, a.Stream)
	}
	b.appends, b.effects, b.committed = b.appends[:m.appends], b.effects[:m.effects], b.committed[:m.committed]
}

// RunBatch makes a batch with plan and commits it. When the commit loses to
// a concurrent writer (a version conflict, or an event id a concurrent run
// stored first), plan runs again on a fresh batch, which reads that writer's
// news, after a short wait. attempt counts the runs from 1.
func RunBatch(ctx context.Context, store *eventstore.Store, plan func(b *Batch, attempt int) error) error {
	for attempt := 1; ; attempt++ {
		b := NewBatch(store)
		if err := plan(b, attempt); err != nil {
			return err
		}
		err := b.Commit(ctx)
		if (errors.Is(err, eventstore.ErrConcurrency) || errors.Is(err, eventstore.ErrDuplicateEvent)) && attempt < attempts {
			if err := WaitToRetry(ctx, attempt); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// Commit runs the effects and then appends everything in one transaction.
func (b *Batch) Commit(ctx context.Context) error {
	for _, effect := range b.effects {
		if err := effect(ctx); err != nil {
			return err
		}
	}
	positions := map[string]eventstore.Position{}
	if len(b.appends) > 0 {
		results, err := b.store.AppendStreams(ctx, b.appends...)
		if err != nil {
			return err
		}
		for _, r := range results {
			positions[r.Stream] = r.Position
		}
	}
	for stream, h := range b.held {
		if h.aggregate == nil {
			continue // read, never built
		}
		if p, ok := positions[stream]; ok && len(h.tail) == 0 {
			h.position = p
		}
		h.cache.put(stream, h.cachedAggregate)
	}
	for _, f := range b.committed {
		f()
	}
	return nil
}
