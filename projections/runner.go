// Package projections builds Ordermill's read models from events: a runner
// that consumes the relay's Redis streams idempotently, and one projector per
// read model. Any read model can be dropped and rebuilt from the event store.
package projections

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// Projector owns one read model.
type Projector interface {
	// Name identifies the projector's progress, consumer group and rebuilds.
	Name() string
	// Categories are the stream categories (Redis streams) it reads.
	Categories() []string
	// Tables are the read-model tables it writes, and no others: a rebuild
	// empties them, a shadow rebuild copies and swaps them. Its migration
	// creates them.
	Tables() []string
	// PersonalData is where its tables hold personal data, which an erasure
	// scrubs (see Redactor); nil when they hold none.
	PersonalData() []PersonalData
	// Apply changes the read model for one event inside tx. The runner has
	// already made sure the event is the next one of its stream.
	Apply(ctx context.Context, tx pgx.Tx, e eventstore.Event) error
}

// BatchProjector is a Projector whose rows each depend on the events of one
// stream only, as an aggregate's view does. It can apply many events in one
// transaction, and Rebuild replays it stream by stream, so that each row is
// written once instead of once per event.
type BatchProjector interface {
	Projector
	// ApplyBatch applies events, each the next of its stream after what the
	// read model already holds; events of one stream are in stream order.
	ApplyBatch(ctx context.Context, tx pgx.Tx, events []eventstore.Event) error
}

// Invalidator is a Projector whose read model backs caches outside Postgres.
type Invalidator interface {
	// AfterCommit runs once events are committed, and again when a redelivery
	// finds them already applied, so that a failed invalidation is retried
	// with the message instead of being lost.
	AfterCommit(ctx context.Context, events []eventstore.Event) error
}

// ErrGap means an event arrived before its stream predecessor was applied; the
// message is retried later, when the predecessor has had a chance to arrive.
var ErrGap = errors.New("projection: event arrived before its predecessor")

// Outcome of applying one event.
type Outcome int

const (
	Applied Outcome = iota
	Skipped         // already applied (a redelivery)
)

// ApplyOnce applies e to p in one transaction, unless already applied. An
// event whose predecessors are missing from the read model gets them from the
// event store first; ErrGap means the store does not hold them either.
// An Invalidator's AfterCommit runs after the transaction; its error is
// returned (with the outcome) so that the message is redelivered.
func ApplyOnce(ctx context.Context, pool *pgxpool.Pool, p Projector, e eventstore.Event) (Outcome, error) {
	return applyOnce(ctx, pool, p, e, false)
}

// applyOnce is ApplyOnce, announcing on ProgressChannel if announce is set.
func applyOnce(ctx context.Context, pool *pgxpool.Pool, p Projector, e eventstore.Event, announce bool) (Outcome, error) {
	applied, _, err := applyShares(ctx, pool, []share{{p: p, events: []eventstore.Event{e}}}, announce)
	if applied != nil && applied[0] > 0 {
		return Applied, err
	}
	return Skipped, err
}

// inStreamOrder returns events sorted by stream and version, each once.
func inStreamOrder(events []eventstore.Event) []eventstore.Event {
	given := slices.Clone(events)
	slices.SortFunc(given, func(a, b eventstore.Event) int {
		return cmp.Or(strings.Compare(a.StreamID, b.StreamID), cmp.Compare(a.StreamVersion, b.StreamVersion))
	})
	return slices.CompactFunc(given, func(a, b eventstore.Event) bool {
		return a.StreamID == b.StreamID && a.StreamVersion == b.StreamVersion
	})
}

// streamsOf lists the streams of events in stream order, each once.
func streamsOf(events []eventstore.Event) []string {
	var streams []string
	for _, e := range events {
		if len(streams) == 0 || streams[len(streams)-1] != e.StreamID {
			streams = append(streams, e.StreamID)
		}
	}
	return streams
}

// applyIn applies given (in stream order, each once) to p inside tx,
// skipping what p already has, and records it. It returns the events it
// applied and how many of given they include (the rest are predecessors read
// from the store).
func applyIn(ctx context.Context, tx pgx.Tx, p Projector, given []eventstore.Event, streams []string) (batch []eventstore.Event, applied int, err error) {
	// Upsert-and-lock, in stream order so that concurrent consumers
	// serialise per stream without deadlocking. The advisory lock says
	// this transaction adds no events: the relay need not wait for it.
	rows, err := tx.Query(ctx, `WITH no_events AS (SELECT pg_advisory_xact_lock_shared($3))
		INSERT INTO projection_streams (projection, stream_id, version)
		SELECT $1, s, 0 FROM unnest($2::text[]) AS s, no_events
		ON CONFLICT (projection, stream_id) DO UPDATE SET version = projection_streams.version
		RETURNING stream_id, version`, p.Name(), streams, eventstore.NoEventsLockKey)
	if err != nil {
		return nil, 0, err
	}
	versions := make(map[string]int64, len(streams))
	var (
		stream  string
		version int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&stream, &version}, func() error {
		versions[stream] = version
		return nil
	}); err != nil {
		return nil, 0, err
	}
	for i := 0; i < len(given); {
		id, have := given[i].StreamID, versions[given[i].StreamID]
		var run []eventstore.Event
		for ; i < len(given) && given[i].StreamID == id; i++ {
			if given[i].StreamVersion > have {
				run = append(run, given[i])
			}
		}
		if len(run) == 0 {
			continue
		}
		applied += len(run)
		last := run[len(run)-1].StreamVersion
		if run[0].StreamVersion != have+1 || last-have != int64(len(run)) {
			// The predecessors are committed (a version exists only after
			// the one before it), but their messages are late: pending on a
			// dead consumer or lost with Redis, and a redelivery could queue
			// behind this very message forever. The event store has them.
			run, err = eventstore.ReadStreamRangeTx(ctx, tx, id, have+1, last)
			if err != nil {
				return nil, 0, err
			}
			if int64(len(run)) != last-have {
				return nil, 0, fmt.Errorf("%w: %s v%d, applied up to v%d", ErrGap, id, last, have)
			}
		}
		batch = append(batch, run...)
	}
	if len(batch) == 0 {
		return nil, 0, nil
	}
	if bp, ok := p.(BatchProjector); ok {
		if err := bp.ApplyBatch(ctx, tx, batch); err != nil {
			return nil, 0, fmt.Errorf("%s: apply %d events: %w", p.Name(), len(batch), err)
		}
	} else {
		for _, e := range sortedByPosition(batch) {
			if err := p.Apply(ctx, tx, e); err != nil {
				return nil, 0, fmt.Errorf("%s: apply %s v%d (%s): %w", p.Name(), e.StreamID, e.StreamVersion, e.Type, err)
			}
		}
	}
	return batch, applied, recordApplied(ctx, tx, p.Name(), batch)
}

// sortedByPosition returns events in commit order, for projectors whose rows
// may depend on several streams.
func sortedByPosition(events []eventstore.Event) []eventstore.Event {
	return slices.SortedFunc(slices.Values(events), func(a, b eventstore.Event) int {
		return cmp.Or(cmp.Compare(a.Position.TransactionID, b.Position.TransactionID),
			cmp.Compare(a.Position.GlobalPos, b.Position.GlobalPos))
	})
}

func afterCommit(ctx context.Context, p Projector, events []eventstore.Event) error {
	inv, ok := p.(Invalidator)
	if !ok {
		return nil
	}
	if err := inv.AfterCommit(ctx, events); err != nil {
		return fmt.Errorf("%s: after commit: %w", p.Name(), err)
	}
	return nil
}

// recordApplied moves each stream's version to its last event in events (in
// stream order) and the projection's progress to the newest event in commit order.
func recordApplied(ctx context.Context, tx pgx.Tx, name string, events []eventstore.Event) error {
	last := map[string]eventstore.Event{}
	newest := events[0]
	for _, e := range events {
		last[e.StreamID] = e
		if e.Position.After(newest.Position) {
			newest = e
		}
	}
	var (
		streams, txids []string
		versions, gpos []int64
	)
	for _, e := range last {
		streams = append(streams, e.StreamID)
		versions = append(versions, e.StreamVersion)
		txids = append(txids, strconv.FormatUint(e.Position.TransactionID, 10))
		gpos = append(gpos, e.Position.GlobalPos)
	}
	e := newest
	txid := strconv.FormatUint(e.Position.TransactionID, 10)
	// One statement for both, as every batch records: each statement has a
	// fixed cost in the backend. Progress only moves forward in commit
	// order, whatever order messages arrive in.
	_, err := tx.Exec(ctx, `WITH streams AS (
			INSERT INTO projection_streams (projection, stream_id, version, transaction_id, global_position)
			SELECT $1, s, v, t::xid8, g FROM unnest($2::text[], $3::bigint[], $4::text[], $5::bigint[]) AS u(s, v, t, g)
			ON CONFLICT (projection, stream_id) DO UPDATE SET version = EXCLUDED.version,
				transaction_id = EXCLUDED.transaction_id, global_position = EXCLUDED.global_position)
		INSERT INTO projection_progress (projection, transaction_id, global_position, event_recorded_at)
		VALUES ($1, $6::text::xid8, $7, $8)
		ON CONFLICT (projection) DO UPDATE SET transaction_id = EXCLUDED.transaction_id,
			global_position = EXCLUDED.global_position, event_recorded_at = EXCLUDED.event_recorded_at, updated_at = now()
		WHERE (projection_progress.transaction_id, projection_progress.global_position) < (EXCLUDED.transaction_id, EXCLUDED.global_position)`,
		name, streams, versions, txids, gpos, txid, e.Position.GlobalPos, e.RecordedAt)
	return err
}

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	Redis        redis.UniversalClient
	TopicPrefix  string
	ConsumerName string // unique per process, e.g. hostname-pid
	Logger       *slog.Logger
	// ClaimIdle is how long a dead consumer's messages wait before another claims them.
	ClaimIdle time.Duration
	// MaxRetries and RetryInterval are the bus's retry policy (see bus.Config):
	// an event a projector fails to apply is retried, then dead-lettered.
	MaxRetries    int // 0: bus.DefaultMaxRetries; bus.NoRetries: none
	RetryInterval time.Duration
}

// ProgressChannel is the LISTEN/NOTIFY channel on which runners announce
// that projectors applied events, so that reads waiting for a position
// (the API's X-Min-Position) wake up without polling. A batch announces
// itself in its own transaction, with its COMMIT: sent apart, each
// announcement was a transaction of its own, at a low rate as many as the
// projectors'. The NOTIFY takes Postgres's notify lock at commit, which
// serialises the commits of projector processes, one consumer each.
const ProgressChannel = "ordermill_progress"

// Runner feeds projectors from Redis Streams consumer groups.
type Runner struct {
	pool       *pgxpool.Pool
	cfg        RunnerConfig
	projectors []Projector
}

// NewRunner returns a runner for projectors.
func NewRunner(pool *pgxpool.Pool, cfg RunnerConfig, projectors ...Projector) *Runner {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ClaimIdle <= 0 {
		cfg.ClaimIdle = 30 * time.Second
	}
	return &Runner{pool: pool, cfg: cfg, projectors: projectors}
}

// Run consumes until ctx ends, every projector on one consumer.
func (r *Runner) Run(ctx context.Context) error {
	return bus.Run(ctx, bus.Config{Redis: r.cfg.Redis, Pool: r.pool, TopicPrefix: r.cfg.TopicPrefix,
		ConsumerName: r.cfg.ConsumerName, ClaimIdle: r.cfg.ClaimIdle, MaxRetries: r.cfg.MaxRetries,
		RetryInterval: r.cfg.RetryInterval, Logger: r.cfg.Logger}, r.busHandler())
}

// streamRun is one stream's events within a batch, decoded, in order.
type streamRun struct {
	stream string
	first  int64            // stream version of events[0]
	last   eventstore.Event // the newest stored event, for version and timestamps
	events []domain.Event
}

// groupByStream splits a batch into per-stream runs, in order of first appearance.
func groupByStream(events []eventstore.Event) ([]*streamRun, error) {
	decoded, err := eventstore.Decode(events)
	if err != nil {
		return nil, err
	}
	var runs []*streamRun
	index := map[string]*streamRun{}
	for i, e := range events {
		r := index[e.StreamID]
		if r == nil {
			r = &streamRun{stream: e.StreamID, first: e.StreamVersion}
			index[e.StreamID] = r
			runs = append(runs, r)
		}
		r.last = e
		r.events = append(r.events, decoded[i])
	}
	return runs, nil
}

// CaughtUp reports whether p has applied every stored event of its
// categories: each stream's newest version is the version p recorded.
func CaughtUp(ctx context.Context, pool *pgxpool.Pool, p Projector) (bool, error) {
	var behind bool
	err := pool.QueryRow(ctx, `SELECT EXISTS (
		SELECT 1 FROM (SELECT stream_id, max(stream_version) AS v FROM events
		                WHERE split_part(stream_id, '-', 1) = ANY($2) GROUP BY stream_id) e
		LEFT JOIN projection_streams ps ON ps.projection = $1 AND ps.stream_id = e.stream_id
		WHERE coalesce(ps.version, 0) < e.v)`, p.Name(), p.Categories()).Scan(&behind)
	return !behind, err
}
