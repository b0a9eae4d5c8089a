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
}

// errMissing stops a decision that needs a stream not read yet.
var errMissing = errors.New("stream not read yet")

// NewBatch returns an empty batch over store.
func NewBatch(store *eventstore.Store) *Batch {
	return &Batch{store: store, appends: []eventstore.StreamAppend{}, stored: map[string][]eventstore.Event{}}
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
	return history, nil
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

// Rewind drops what was planned since m.
func (b *Batch) Rewind(m Mark) {
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
	if len(b.appends) > 0 {
		if _, err := b.store.AppendStreams(ctx, b.appends...); err != nil {
			return err
		}
	}
	for _, f := range b.committed {
		f()
	}
	return nil
}
