// Package app holds Ordermill's use cases: the command and query handlers
// that api, workers and cmd call, and Update, the one way an aggregate is
// loaded, decided on and appended to.
package app

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// Aggregate is what Update needs of an aggregate: it evolves by its own events.
type Aggregate interface {
	Apply(domain.Event)
}

// Result is what Update did: the aggregate with the new events applied, the
// new events, and the stream's state after the append (when nothing was
// appended, the state it was loaded at; in a batch, the version it will have).
type Result[A Aggregate] struct {
	Aggregate A
	Events    []domain.Event
	Appended  eventstore.AppendResult
}

// attempts bounds how often Update decides again after a concurrent writer
// took the version it read.
const attempts = 10

// Update is load–decide–append for one aggregate stream: load rebuilds the
// aggregate from the stream's history (empty for a stream with no events),
// decide raises events, and they are appended at the version loaded. A
// concurrent writer's conflict is retried on fresh history, unless the
// append expects a version (Expect), is part of a caller's transaction (InTx)
// or of a batch (Into). Errors of load and decide are returned as they are,
// so a precondition load checks (If-Match) is never retried. Deciding no
// events appends nothing. decide must not apply its events to the aggregate:
// Update does, once they are decided.
func Update[A Aggregate](ctx context.Context, store *eventstore.Store, stream string,
	load func(history []domain.Event) (A, error), decide func(A) ([]domain.Event, error), opts ...Option) (Result[A], error) {
	o := newOptions(opts)
	var row func(pgx.Tx, A) error
	if o.row != nil {
		var ok bool
		if row, ok = o.row.(func(pgx.Tx, A) error); !ok {
			return Result[A]{}, fmt.Errorf("update %s: Row is for %T, not for this aggregate", stream, o.row)
		}
	}
	retry := o.expected == eventstore.AnyVersion && o.tx == nil && o.batch == nil
	for attempt := 1; ; attempt++ {
		res, err := update(ctx, store, stream, load, decide, row, o)
		var failed appendError
		if errors.As(err, &failed) {
			err = failed.err
			if retry && errors.Is(err, eventstore.ErrConcurrency) && attempt < attempts {
				if err := WaitToRetry(ctx, attempt); err != nil {
					return res, err
				}
				continue
			}
		}
		return res, err
	}
}

// Append appends events that need no decision (the record that something
// happened, such as an erasure), with Update's options but Row: an event
// id EventIDs derives from a message makes its redelivery a duplicate.
func Append(ctx context.Context, store *eventstore.Store, stream string, events []domain.Event, opts ...Option) (eventstore.AppendResult, error) {
	o := newOptions(opts)
	if o.row != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: Row needs Update", stream)
	}
	res, err := o.write(ctx, store, stream, o.expected, events, nil)
	var failed appendError
	if errors.As(err, &failed) {
		err = failed.err
	}
	return res, err
}

// appendError marks errors of the append, the only ones Update retries.
type appendError struct{ err error }

func (e appendError) Error() string { return e.err.Error() }
func (e appendError) Unwrap() error { return e.err }

func update[A Aggregate](ctx context.Context, store *eventstore.Store, stream string,
	load func([]domain.Event) (A, error), decide func(A) ([]domain.Event, error), row func(pgx.Tx, A) error, o *options) (Result[A], error) {
	res := Result[A]{Appended: eventstore.AppendResult{Stream: stream}}
	loaded, err := loadAggregate(ctx, store, stream, load, o)
	if err != nil {
		return res, err
	}
	version := loaded.version
	if o.expected != eventstore.AnyVersion && int64(o.expected) != version {
		o.keep(stream, loaded)
		return res, &eventstore.ConflictError{Stream: stream, Expected: o.expected}
	}
	res.Aggregate = loaded.aggregate.(A)
	res.Appended.Version, res.Appended.Position = version, loaded.position
	if res.Events, err = decide(res.Aggregate); err != nil || len(res.Events) == 0 {
		o.keep(stream, loaded) // decide changes nothing
		return res, err
	}
	for _, e := range res.Events {
		res.Aggregate.Apply(e)
	}
	var rows func(pgx.Tx) error
	if row != nil {
		rows = func(tx pgx.Tx) error { return row(tx, res.Aggregate) }
	}
	res.Appended, err = o.write(ctx, store, stream, eventstore.Exact(version), res.Events, rows)
	if err == nil {
		o.keep(stream, cachedAggregate{res.Aggregate, res.Appended.Version, res.Appended.Position})
	}
	return res, err
}

// loadAggregate rebuilds stream's aggregate with load from its history, or,
// through a cache, applies the events after the cached aggregate to it.
func loadAggregate[A Aggregate](ctx context.Context, store *eventstore.Store, stream string,
	load func([]domain.Event) (A, error), o *options) (cachedAggregate, error) {
	var (
		held cachedAggregate
		tail []eventstore.Event // after held: stored, then what a batch plans
		err  error
	)
	switch {
	case o.expected == eventstore.NoStream: // nothing to read
	case o.batch != nil && o.cache != nil:
		held, tail, err = o.batch.hold(ctx, o.cache, stream)
	case o.batch != nil:
		tail, err = o.batch.history(ctx, stream)
	default:
		if o.cache != nil {
			held = o.cache.take(stream)
		}
		tail, err = store.ReadStream(ctx, stream, held.version+1)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			err = nil
		}
	}
	if err != nil {
		return held, err
	}
	events, err := eventstore.Decode(tail)
	if err != nil {
		return held, err
	}
	switch aggregate, ok := held.aggregate.(A); {
	case ok:
		for _, e := range events {
			aggregate.Apply(e)
		}
		held.aggregate = aggregate
	case held.version > 0:
		return held, fmt.Errorf("update %s: its cached aggregate is a %T", stream, held.aggregate)
	default:
		if held.aggregate, err = load(events); err != nil {
			return held, err
		}
	}
	held.version += int64(len(tail))
	if len(tail) > 0 && tail[len(tail)-1].Position != (eventstore.Position{}) {
		held.position = tail[len(tail)-1].Position
	}
	return held, nil
}

// keep gives a cached stream's aggregate back: to the batch, which gives it
// to the cache when it commits, or to the cache.
func (o *options) keep(stream string, a cachedAggregate) {
	switch {
	case o.cache == nil:
	case o.batch != nil:
		o.batch.keep(stream, o.cache, a)
	default:
		o.cache.put(stream, a)
	}
}

// write appends events to stream at expected, in the way the options say;
// rows, when not nil, runs in the append's transaction. Errors of the
// append itself come as appendError.
func (o *options) write(ctx context.Context, store *eventstore.Store, stream string, expected eventstore.ExpectedVersion,
	events []domain.Event, rows func(pgx.Tx) error) (eventstore.AppendResult, error) {
	res := eventstore.AppendResult{Stream: stream}
	encoded, err := eventstore.Encode(o.tenant, o.meta, events...)
	if err != nil {
		return res, err
	}
	if o.ids != nil {
		encoded = o.ids(stream, encoded)
	}
	next := eventstore.StreamAppend{Stream: stream, Expected: expected, Events: encoded}
	switch {
	case o.batch != nil:
		o.batch.add(next)
		if expected != eventstore.AnyVersion {
			res.Version = int64(expected) + int64(len(encoded))
		}
		return res, nil
	case o.tx == nil && rows == nil:
		res, err = store.Append(ctx, stream, expected, encoded...)
		if err != nil {
			return res, appendError{err}
		}
		return res, nil
	}
	// AppendTx stores what it is given: seal as Append would.
	if err := store.Seal(ctx, encoded); err != nil {
		return res, err
	}
	inTx := func(tx pgx.Tx) error {
		var err error
		if res, err = eventstore.AppendTx(ctx, tx, next); err != nil {
			return appendError{err}
		}
		if rows != nil {
			return rows(tx)
		}
		return nil
	}
	if o.tx != nil {
		return res, inTx(o.tx)
	}
	return res, store.InTx(ctx, inTx)
}

// Option changes how Update reads and appends.
type Option func(*options)

type options struct {
	tenant   string
	meta     eventstore.Metadata
	expected eventstore.ExpectedVersion
	tx       pgx.Tx
	row      any // func(pgx.Tx, A) error
	ids      func(stream string, events []eventstore.NewEvent) []eventstore.NewEvent
	batch    *Batch
	cache    *AggregateCache
}

func newOptions(opts []Option) *options {
	o := &options{expected: eventstore.AnyVersion}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// By sets the tenant (the shop) and the metadata of the appended events.
func By(tenant string, meta eventstore.Metadata) Option {
	return func(o *options) { o.tenant, o.meta = tenant, meta }
}

// Expect makes the append require the stream to be at version v, without
// retrying; NoStream creates an aggregate, and skips reading its stream.
func Expect(v eventstore.ExpectedVersion) Option {
	return func(o *options) { o.expected = v }
}

// InTx appends inside the caller's transaction (one storing an idempotent
// response, say), which commits it. A conflict is returned, not retried: it
// has aborted the transaction.
func InTx(tx pgx.Tx) Option {
	return func(o *options) { o.tx = tx }
}

// Row keeps a write model beside the events (the users and api_tokens
// tables): row runs with the updated aggregate in the append's transaction.
// A is the aggregate type Update is called with.
func Row[A Aggregate](row func(tx pgx.Tx, updated A) error) Option {
	return func(o *options) { o.row = row }
}

// EventIDs lets the caller give the encoded events deterministic ids (and
// metadata), so that a redelivered message's write is refused as a
// duplicate (eventstore.ErrDuplicateEvent).
func EventIDs(ids func(stream string, events []eventstore.NewEvent) []eventstore.NewEvent) Option {
	return func(o *options) { o.ids = ids }
}

// Into plans the append in b instead of appending: b.Commit appends
// everything planned in one transaction, and b's later decisions on the same
// stream see the planned events. Reads and appends go through b, so the
// store Update and Append are given may be nil.
func Into(b *Batch) Option {
	return func(o *options) { o.batch = b }
}

// WaitToRetry waits a short random time, longer with each attempt, before a
// write that lost a version conflict decides again, so that racing writers
// (many orders reserving one SKU's stock) spread out. It returns ctx's error
// if ctx ends first.
func WaitToRetry(ctx context.Context, attempt int) error {
	t := time.NewTimer(rand.N(time.Duration(attempt) * 2 * time.Millisecond))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
