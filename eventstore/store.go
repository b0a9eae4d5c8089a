package eventstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/database"
)

// ExpectedVersion is what an append expects the stream's current version to be.
type ExpectedVersion int64

const (
	// AnyVersion appends whatever the stream's version is.
	AnyVersion ExpectedVersion = -1
	// NoStream requires that the stream has no events yet.
	NoStream ExpectedVersion = 0
)

// Exact expects the stream to be at exactly version v (v events).
func Exact(v int64) ExpectedVersion { return ExpectedVersion(v) }

func (e ExpectedVersion) String() string {
	switch {
	case e == AnyVersion:
		return "any"
	case e == NoStream:
		return "no stream"
	default:
		return "version " + strconv.FormatInt(int64(e), 10)
	}
}

// StreamAppend is one stream's part of an append.
type StreamAppend struct {
	Stream   string
	Expected ExpectedVersion
	Events   []NewEvent
}

// AppendResult is the state of a stream after a successful append.
type AppendResult struct {
	Stream   string
	Version  int64    // the stream's version after the append
	Position Position // commit-order position of the last appended event
	Events   []Event
}

// Store appends to and reads from the events table.
type Store struct {
	pool     *pgxpool.Pool
	appended *database.Notifier // wakes followers of "all" on AppendedChannel
	cipher   Cipher             // nil: data is stored as given
	groups   appendGroups
}

// New returns a Store over pool.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, appended: database.NewNotifier(pool, AppendedChannel, 0)}
}

// SetWakeInterval spaces the NOTIFYs that wake followers of "all" by at
// least d, so that at a low rate one wake-up (and one transaction that
// sends it) covers several appends; the first append after a quiet spell
// still wakes them at once. Call it before the store is used.
func (s *Store) SetWakeInterval(d time.Duration) { s.appended.SetInterval(d) }

// AppendedChannel is the LISTEN/NOTIFY channel on which the store says,
// after a commit, that events were appended: followers of "all" wake on it.
const AppendedChannel = "ordermill_events"

// InTx runs fn in a transaction and wakes followers after it commits. Use it
// (rather than a bare pgx.BeginFunc) around AppendTx.
func (s *Store) InTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := pgx.BeginFunc(ctx, s.pool, fn); err != nil {
		return err
	}
	s.appended.Signal()
	return nil
}

// Pool exposes the pool for readers that join events with other tables.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Append writes events to one stream if it is at the expected version.
func (s *Store) Append(ctx context.Context, stream string, expected ExpectedVersion, events ...NewEvent) (AppendResult, error) {
	res, err := s.AppendStreams(ctx, StreamAppend{Stream: stream, Expected: expected, Events: events})
	if err != nil {
		return AppendResult{}, err
	}
	return res[0], nil
}

// AppendStreams writes to several streams in one transaction: all or nothing.
// A conflict on an AnyVersion stream (a concurrent writer took the version) is
// retried a few times before it is reported.
func (s *Store) AppendStreams(ctx context.Context, appends ...StreamAppend) ([]AppendResult, error) {
	const attempts = 5
	appends, err := s.sealAppends(ctx, appends)
	if err != nil {
		return nil, err
	}
	for range attempts {
		var results []AppendResult
		if len(appends) == 1 {
			// One INSERT statement is atomic on its own: skip BEGIN/COMMIT round trips.
			var r AppendResult
			r, err = appendWith(ctx, s.pool, appends[0])
			results = append(results, r)
		} else {
			exact := allExact(appends)
			if exact {
				// One statement is atomic on its own: no BEGIN/COMMIT round trips.
				results, err = appendCombined(ctx, s.pool, appends)
			}
			if !exact || errors.Is(err, errCombined) {
				results, err = s.appendInTx(ctx, appends)
			}
		}
		if err == nil {
			s.appended.Signal()
			return results, nil
		}
		if !retryable(err, appends) {
			return nil, err
		}
	}
	return nil, err
}

// appendInTx appends in one transaction, one statement per stream.
func (s *Store) appendInTx(ctx context.Context, appends []StreamAppend) (results []AppendResult, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		results, err = appendAll(ctx, tx, appends)
		return err
	})
	return results, err
}

// allExact reports whether every append names its expected version.
func allExact(appends []StreamAppend) bool {
	for _, a := range appends {
		if a.Expected == AnyVersion {
			return false
		}
	}
	return true
}

func retryable(err error, appends []StreamAppend) bool {
	var conflict *ConflictError
	if !errors.As(err, &conflict) {
		return false
	}
	for _, a := range appends {
		if a.Stream == conflict.Stream && a.Expected != AnyVersion {
			return false
		}
	}
	return true
}

const insertSQL = `
INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, tenant_id, data, metadata)
SELECT e.id, $1, base.v + e.ord, e.typ, e.sv, e.tenant, e.data::jsonb, e.meta::jsonb
  FROM unnest($2::uuid[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[])
       WITH ORDINALITY AS e(id, typ, sv, tenant, data, meta, ord),
       (SELECT CASE WHEN $8::bigint >= 0 THEN $8::bigint
                    ELSE (SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1)
               END AS v) AS base
 ORDER BY e.ord
RETURNING ` + assignedColumns

// AppendTx appends to one stream inside the caller's transaction, so a write
// model kept beside the events (users, idempotency keys) commits with them.
func AppendTx(ctx context.Context, tx pgx.Tx, a StreamAppend) (AppendResult, error) {
	return appendWith(ctx, tx, a)
}

func appendWith(ctx context.Context, q querier, a StreamAppend) (AppendResult, error) {
	in, err := prepareAppend(a)
	if err != nil {
		return AppendResult{}, err
	}
	start := time.Now()
	rows, err := q.Query(ctx, insertSQL, in.args()...)
	return in.collect(rows, err, start)
}

// appendAll appends to every stream inside tx in one round trip: the
// INSERTs, one per stream, go to Postgres as one pipelined batch. It is the
// path for AnyVersion appends and the one that tells which stream a
// conflict is on.
func appendAll(ctx context.Context, tx pgx.Tx, appends []StreamAppend) ([]AppendResult, error) {
	inserts := make([]insert, len(appends))
	batch := &pgx.Batch{}
	for i, a := range appends {
		in, err := prepareAppend(a)
		if err != nil {
			return nil, err
		}
		inserts[i] = in
		batch.Queue(insertSQL, in.args()...)
	}
	start := time.Now()
	br := tx.SendBatch(ctx, batch)
	results := make([]AppendResult, len(appends))
	for i, in := range inserts {
		rows, err := br.Query()
		if results[i], err = in.collect(rows, err, start); err != nil {
			_ = br.Close()
			return nil, err
		}
	}
	return results, br.Close()
}

// insert is one stream's append as insertSQL's arguments.
type insert struct {
	a       StreamAppend
	ids     []uuid.UUID
	types   []string
	schemas []int32
	tenants []string
	data    []string
	metas   []string
}

func prepareAppend(a StreamAppend) (insert, error) {
	if len(a.Events) == 0 {
		return insert{}, fmt.Errorf("append to %s: no events", a.Stream)
	}
	if a.Expected < AnyVersion {
		return insert{}, fmt.Errorf("append to %s: invalid expected version %d", a.Stream, a.Expected)
	}
	n := len(a.Events)
	in := insert{a: a, ids: make([]uuid.UUID, n), types: make([]string, n), schemas: make([]int32, n),
		tenants: make([]string, n), data: make([]string, n), metas: make([]string, n)}
	for i, e := range a.Events {
		r, err := encodeRow(a.Stream, i, e)
		if err != nil {
			return insert{}, err
		}
		in.ids[i], in.types[i], in.schemas[i], in.tenants[i], in.data[i], in.metas[i] = r.id, r.typ, r.schema, r.tenant, r.data, r.meta
	}
	return in, nil
}

func (in insert) args() []any {
	return []any{in.a.Stream, in.ids, in.types, in.schemas, in.tenants, in.data, in.metas, int64(in.a.Expected)}
}

// row is event i as encodeRow made it.
func (in insert) row(i int) eventRow {
	return eventRow{id: in.ids[i], typ: in.types[i], schema: in.schemas[i], tenant: in.tenants[i], data: in.data[i], meta: in.metas[i]}
}

// collect reads what the database assigned to the inserted events.
func (in insert) collect(rows pgx.Rows, err error, start time.Time) (AppendResult, error) {
	if err != nil {
		err = mapAppendError(err, in.a)
		observeAppend(start, err)
		return AppendResult{}, err
	}
	byID := make(map[uuid.UUID]int, len(in.ids))
	for i, id := range in.ids {
		byID[id] = i
	}
	events, err := collectAssigned(rows, func(id uuid.UUID) (string, NewEvent, string) {
		i := byID[id]
		return in.a.Stream, in.a.Events[i], in.data[i]
	})
	if err != nil {
		err = mapAppendError(err, in.a)
	}
	observeAppend(start, err)
	if err != nil {
		return AppendResult{}, err
	}
	return resultOf(in.a.Stream, events), nil
}

// collectAssigned reads what the database assigned to inserted events and
// completes each with what the caller gave for it (given, by event id). The
// caller has the payloads; only what the database assigned comes back, so a
// webhook's body is not sent back and parsed again.
func collectAssigned(rows pgx.Rows, given func(uuid.UUID) (stream string, e NewEvent, data string)) ([]Event, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Event, error) {
		e, err := scanAssigned(row)
		if err == nil {
			e.complete(given(e.ID))
		}
		return e, err
	})
}

// resultOf is a stream's state after an append of events (any order).
func resultOf(stream string, events []Event) AppendResult {
	slices.SortFunc(events, func(a, b Event) int { return cmp.Compare(a.StreamVersion, b.StreamVersion) })
	last := events[len(events)-1]
	return AppendResult{Stream: stream, Version: last.StreamVersion, Position: last.Position, Events: events}
}

// eventRow is one event as the INSERT's parameters.
type eventRow struct {
	id                 uuid.UUID
	typ                string
	schema             int32
	tenant, data, meta string
}

// encodeRow checks event i of an append to stream and encodes it, giving
// it a random id when it has none.
func encodeRow(stream string, i int, e NewEvent) (eventRow, error) {
	if e.Type == "" {
		return eventRow{}, fmt.Errorf("append to %s: event %d has no type", stream, i)
	}
	// jsonb would refuse a lone surrogate or U+0000 with a database error
	// and keep only the last of two equal keys; the hash must cover what was meant.
	if err := domain.CheckJSON(e.Data); err != nil {
		return eventRow{}, fmt.Errorf("append to %s: event %d (%s): data is not JSON stored as sent: %w", stream, i, e.Type, err)
	}
	m, err := json.Marshal(e.Metadata)
	if err != nil {
		return eventRow{}, err
	}
	r := eventRow{id: e.ID, typ: e.Type, schema: int32(max(e.SchemaVersion, 1)), tenant: e.Tenant, data: string(e.Data), meta: string(m)}
	if r.id == uuid.Nil {
		r.id = uuid.New()
	}
	return r, nil
}

// assignedColumns are what the database assigns to an inserted event.
const assignedColumns = `global_position, transaction_id::text::bigint, event_id, stream_version, recorded_at, prev_hash, hash`

func scanAssigned(row pgx.CollectableRow) (Event, error) {
	var (
		e    Event
		txid int64
	)
	err := row.Scan(&e.Position.GlobalPos, &txid, &e.ID, &e.StreamVersion, &e.RecordedAt, &e.PrevHash, &e.Hash)
	e.Position.TransactionID = uint64(txid)
	e.RecordedAt = e.RecordedAt.UTC()
	return e, err
}

// complete fills in what the caller gave for an event the database stored.
func (e *Event) complete(stream string, in NewEvent, data string) {
	e.StreamID, e.Type, e.SchemaVersion, e.Tenant = stream, in.Type, max(in.SchemaVersion, 1), in.Tenant
	e.Data, e.Metadata = json.RawMessage(data), in.Metadata
}

func mapAppendError(err error, a StreamAppend) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505" && pgErr.ConstraintName == "events_stream_version_key",
			pgErr.Code == "P0001" && pgErr.Hint == "ordermill:stream_gap":
			return &ConflictError{Stream: a.Stream, Expected: a.Expected}
		case pgErr.Code == "23505" && pgErr.ConstraintName == "events_event_id_key":
			return fmt.Errorf("append to %s: %w", a.Stream, ErrDuplicateEvent)
		}
	}
	return fmt.Errorf("append to %s: %w", a.Stream, err)
}

// QueryEvents runs a query that selects EventColumns and returns its events
// with their sealed data opened.
func (s *Store) QueryEvents(ctx context.Context, sql string, args ...any) ([]Event, error) {
	events, err := queryEvents(ctx, s.pool, 0, sql, args...)
	if err == nil {
		err = s.Open(ctx, events)
	}
	return events, err
}

// ReadStream returns a stream's events from version from (inclusive) on, in order.
// A stream with no events is ErrStreamNotFound.
func (s *Store) ReadStream(ctx context.Context, stream string, from int64) ([]Event, error) {
	events, err := s.QueryEvents(ctx, `SELECT `+EventColumns+` FROM events
		WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version`, stream, from)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	if len(events) == 0 && from <= 1 {
		return nil, fmt.Errorf("%s: %w", stream, ErrStreamNotFound)
	}
	return events, nil
}

// ReadStreams returns the events of several streams in one query, each
// stream's in order; a stream with no events has no entry.
func (s *Store) ReadStreams(ctx context.Context, streams []string) (map[string][]Event, error) {
	from := make(map[string]int64, len(streams))
	for _, stream := range streams {
		from[stream] = 1
	}
	return s.ReadStreamTails(ctx, from)
}

// ReadStreamTails returns in one query each stream's events from the version
// from gives it (inclusive) on, each stream's in order; a stream with no
// such events has no entry. It reads the news of streams a caller already
// holds up to some version.
func (s *Store) ReadStreamTails(ctx context.Context, from map[string]int64) (map[string][]Event, error) {
	streams, firsts := make([]string, 0, len(from)), make([]int64, 0, len(from))
	for stream, first := range from {
		streams, firsts = append(streams, stream), append(firsts, first)
	}
	// OFFSET 0 keeps the subquery a lookup of the stream's index per
	// stream. Joined instead (or with stream_id = ANY), the plan a
	// connection keeps for the statement can be one made while the table
	// was small: a scan of the whole table.
	events, err := s.QueryEvents(ctx, `SELECT `+EventColumns+` FROM unnest($1::text[], $2::bigint[]) AS tail(stream, first)
		CROSS JOIN LATERAL (SELECT * FROM events WHERE stream_id = tail.stream AND stream_version >= tail.first OFFSET 0) AS e
		ORDER BY stream_id, stream_version`, streams, firsts)
	if err != nil {
		return nil, fmt.Errorf("read stream tails: %w", err)
	}
	return byStream(events, len(from)), nil
}

// byStream splits events ordered by stream into each stream's.
func byStream(events []Event, streams int) map[string][]Event {
	out := make(map[string][]Event, streams)
	for i := 0; i < len(events); {
		j := i + 1
		for j < len(events) && events[j].StreamID == events[i].StreamID {
			j++
		}
		out[events[i].StreamID] = events[i:j:j]
		i = j
	}
	return out
}

// ReadAll returns up to limit events after the given position in commit
// order. It reads only transactions older than every one still in flight
// that may add events (events_horizon(): pg_snapshot_xmin, not counting
// transactions that hold NoEventsLockKey), so an event that commits late is
// never skipped: it is simply not visible to this call yet.
func (s *Store) ReadAll(ctx context.Context, after Position, limit int) ([]Event, error) {
	// Its callers read "all" in bulk (rebuilds), so batches are full.
	events, err := readAll(ctx, s.pool, after, limit, limit)
	if err == nil {
		err = s.Open(ctx, events)
	}
	return events, err
}

// ReadAllStored is ReadAll as stored: sealed data stays sealed (the relay
// publishes it so, and consumers open it). expect is about how many events
// the caller expects, to size the read: a reader that is caught up reads a
// few per query, and sizing each for a full batch cost it dearly.
func (s *Store) ReadAllStored(ctx context.Context, after Position, limit, expect int) ([]Event, error) {
	return readAll(ctx, s.pool, after, limit, expect)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// maxPrealloc bounds how many events a read makes room for up front.
const maxPrealloc = 20_000

// readAll reads up to limit events of "all" after after, expecting about
// expect of them.
func readAll(ctx context.Context, q querier, after Position, limit, expect int) ([]Event, error) {
	events, err := queryEvents(ctx, q, min(expect, limit, maxPrealloc), `SELECT `+EventColumns+` FROM events
		WHERE (transaction_id, global_position) > ($1::text::xid8, $2) -- a row comparison: an index range, not a filter
		  AND transaction_id < events_horizon()
		ORDER BY events.transaction_id, events.global_position
		LIMIT $3`, strconv.FormatUint(after.TransactionID, 10), after.GlobalPos, limit)
	if err != nil {
		return nil, fmt.Errorf("read all: %w", err)
	}
	return events, nil
}

// NoEventsLockKey is the shared transaction-level advisory lock by which a
// transaction says it adds no events, so that readers of "all" need not wait
// for it (see migrations/0060_events_horizon.up.sql). A projector's batch
// holds it. Holding it in a transaction that appends would let readers skip
// that transaction's events.
const NoEventsLockKey int64 = 122515828666218

// Head is the commit-order position of the newest event readers may see now.
func (s *Store) Head(ctx context.Context) (Position, time.Time, error) {
	var (
		p    Position
		txid int64
		at   time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT transaction_id::text::bigint, global_position, recorded_at FROM events
		WHERE transaction_id < events_horizon()
		ORDER BY events.transaction_id DESC, events.global_position DESC LIMIT 1`).Scan(&txid, &p.GlobalPos, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return Start, time.Time{}, nil
	}
	p.TransactionID = uint64(txid)
	return p, at, err
}

// ReadStreamRangeTx returns a stream's events from version from to version to
// (inclusive), as stored, inside the caller's transaction.
func ReadStreamRangeTx(ctx context.Context, tx pgx.Tx, stream string, from, to int64) ([]Event, error) {
	events, err := queryEvents(ctx, tx, 0, `SELECT `+EventColumns+` FROM events
		WHERE stream_id = $1 AND stream_version BETWEEN $2 AND $3 ORDER BY stream_version`, stream, from, to)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	return events, nil
}
