package eventstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Group commit: concurrent single-event appends share one INSERT and one
// commit, so Postgres flushes its WAL once per batch rather than once per
// event, and the process pays one round trip for many appends.
//
// One batch is written at a time while the others gather: a batch goes as
// soon as nothing else is in flight, so a lone append waits for no one, and
// under load each batch holds whatever arrived during the previous write.
// Only a full batch is written alongside others. Four writers each starting
// a batch whenever idle wrote 40% of the appends alone at saturation, and
// each append alone costs Postgres a statement and a commit.
const (
	groupMaxBatch    = 256
	groupMaxInFlight = 4 // full batches written at once; more wait for one to finish
	// groupTimeout bounds a batch, whose appends may have callers that gave up.
	groupTimeout = 30 * time.Second
)

type groupItem struct {
	a     StreamAppend // one event; sealed once the batch is
	plain NewEvent     // the event as given, to seal again if it is appended alone
	key   uuid.UUID    // the staged key it was sealed with, if any
	row   eventRow
	done  chan groupResult
	gone  <-chan struct{} // closed when the caller gives up
}

type groupResult struct {
	res AppendResult
	err error
}

// AppendGrouped appends one event to a stream at an exact expected version,
// like Append, but shares sealing, the statement and its commit with
// concurrent AppendGrouped calls. Each call stands alone: a conflict or a
// failure of one event fails only its own call, and a call returns only
// once its own event is committed.
func (s *Store) AppendGrouped(ctx context.Context, stream string, expected ExpectedVersion, e NewEvent) (AppendResult, error) {
	if expected < NoStream {
		// AnyVersion reads the stream's version in the statement: not batched.
		return s.Append(ctx, stream, expected, e)
	}
	it := groupItem{a: StreamAppend{Stream: stream, Expected: expected, Events: []NewEvent{e}}, plain: e, done: make(chan groupResult, 1), gone: ctx.Done()}
	s.groups.Lock()
	s.groups.pending = append(s.groups.pending, it)
	batch := s.groups.due()
	s.groups.Unlock()
	if batch != nil {
		// The caller whose append starts a batch writes it: a lone append is
		// written without handing it to another goroutine and back, which
		// at a low rate cost more than the batch's own work.
		s.writeGroup(batch)
	}
	select {
	case r := <-it.done:
		return r.res, r.err
	case <-ctx.Done():
		return AppendResult{}, fmt.Errorf("append to %s: %w", stream, ctx.Err())
	}
}

// appendGroups holds the appends waiting for a batch.
type appendGroups struct {
	sync.Mutex
	pending  []groupItem
	inFlight int // batches being written
}

// due takes the next batch to write, if one may start: when no batch is
// being written, or when a full one is waiting and fewer than
// groupMaxInFlight are. Call it locked.
func (g *appendGroups) due() []groupItem {
	idle := g.inFlight == 0
	full := len(g.pending) >= groupMaxBatch && g.inFlight < groupMaxInFlight
	if len(g.pending) == 0 || !idle && !full {
		return nil
	}
	n := min(len(g.pending), groupMaxBatch)
	batch := slices.Clone(g.pending[:n])
	g.pending = slices.Delete(g.pending, 0, n)
	g.inFlight++
	return batch
}

// writeGroup writes a batch, then starts the batches that gathered
// meanwhile, each in a goroutine of its own: they are other callers'
// appends, and this caller has its answer. It does so even if the write
// panics (a handler's recovery may catch it), or every later append would
// wait forever.
func (s *Store) writeGroup(batch []groupItem) {
	defer func() {
		s.groups.Lock()
		defer s.groups.Unlock()
		s.groups.inFlight--
		for next := s.groups.due(); next != nil; next = s.groups.due() {
			go s.writeGroup(next)
		}
	}()
	s.flushGroup(batch)
}

func (s *Store) flushGroup(batch []groupItem) {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	// An append whose caller gave up before its batch started is not
	// written: its caller had an error, and under overload writing what
	// no one waits for would only delay what someone does.
	batch = slices.DeleteFunc(batch, func(it groupItem) bool {
		select {
		case <-it.gone:
			it.done <- groupResult{err: fmt.Errorf("append to %s: the caller gave up before it was written", it.a.Stream)}
			return true
		default:
			return false
		}
	})
	if len(batch) == 0 {
		return
	}
	// One seal for the batch, so the keys it has to make are made together,
	// and stored with the events by the batch's statement.
	sealed := make([]NewEvent, len(batch))
	for i, it := range batch {
		sealed[i] = it.plain
	}
	staged, err := s.sealStaged(ctx, sealed)
	if err != nil {
		// Each alone, so one event the cipher refuses fails only itself.
		for _, it := range batch {
			res, err := s.Append(ctx, it.a.Stream, it.a.Expected, it.plain)
			it.done <- groupResult{res, err}
		}
		return
	}
	ready := batch[:0]
	for i, it := range batch {
		r, err := encodeRow(it.a.Stream, 0, sealed[i])
		if err != nil {
			it.done <- groupResult{err: err}
			continue
		}
		sealed[i].ID = r.id
		it.a.Events, it.row = sealed[i:i+1], r
		if staged != nil {
			it.key = staged.Needs(i)
		}
		ready = append(ready, it)
	}
	rest, stored := ready, false
	if len(ready) > 1 || (staged != nil && len(ready) > 0) {
		var err error
		if rest, err = insertGroup(ctx, s.pool, ready, staged); err != nil {
			rest = ready // nothing stored, staged keys neither
		}
		stored = len(rest) < len(ready)
	}
	// Whatever the batch did not store is appended alone, for its own answer:
	// a conflict, a duplicate event id, the error that failed the batch, or
	// a staged key that lost to another process's (sealed again, alone).
	for _, it := range rest {
		var (
			r   AppendResult
			err error
		)
		if it.key != uuid.Nil {
			r, err = s.Append(ctx, it.a.Stream, it.a.Expected, it.plain)
		} else {
			r, err = appendWith(ctx, s.pool, it.a)
		}
		stored = stored || err == nil
		it.done <- groupResult{r, err}
	}
	if stored {
		s.appended.Signal()
	}
}

// insertGroupSQL skips an event that conflicts (a taken stream version or
// event id) instead of failing the statement; the caller appends it alone.
const insertGroupSQL = insertRowsSQL + `
ON CONFLICT DO NOTHING
RETURNING ` + assignedColumns

// insertGroupKeyedSQL is insertGroupSQL for a batch sealed with staged keys,
// which keys (the cipher's statement) stores: an event whose key ($9) is
// one of them is stored only if its key is. The sort takes every row, and
// with them the keys' statement, before the first event is inserted, so
// batches wait for each other's keys before any event: keys go in (shop,
// subject) order and never deadlock.
func insertGroupKeyedSQL(keys string) string {
	return `WITH keys AS (` + keys + `)
` + insertEventsSQL + `
  FROM unnest(` + rowArrays + `, $9::uuid[])
       WITH ORDINALITY AS e(id, stream, version, typ, sv, tenant, data, meta, key, ord)
 WHERE e.key = '00000000-0000-0000-0000-000000000000' OR e.key IN (SELECT id FROM keys)
 ORDER BY e.ord
ON CONFLICT DO NOTHING
RETURNING ` + assignedColumns
}

// insertGroup writes the batch in one statement (with the keys it was
// sealed with, when staged is not nil), answers the appends it stored and
// returns the others.
func insertGroup(ctx context.Context, q querier, batch []groupItem, staged StagedKeys) ([]groupItem, error) {
	// In stream order, so two batches holding the same streams wait for each
	// other in one direction and never deadlock.
	slices.SortFunc(batch, func(a, b groupItem) int { return strings.Compare(a.a.Stream, b.a.Stream) })
	n := len(batch)
	var rows rowSet
	byID := make(map[uuid.UUID]int, n)
	for i, it := range batch {
		rows.add(it.a.Stream, int64(it.a.Expected)+1, it.row)
		byID[it.row.id] = i
	}
	sql, args := insertGroupSQL, rows.args()
	if staged != nil {
		keyOf := make([]uuid.UUID, n)
		for i, it := range batch {
			keyOf[i] = it.key
		}
		keys, keyArgs := staged.Insert(len(args) + 2)
		sql, args = insertGroupKeyedSQL(keys), append(append(args, keyOf), keyArgs...)
	}
	start := time.Now()
	result, err := q.Query(ctx, sql, args...)
	if err != nil {
		observeAppend(start, err)
		return nil, err
	}
	done := make([]bool, n)
	events, err := collectAssigned(result, func(id uuid.UUID) (string, NewEvent, string) {
		it := batch[byID[id]]
		return it.a.Stream, it.a.Events[0], it.row.data
	})
	observeAppend(start, err)
	if err != nil {
		return nil, err
	}
	var committed []uuid.UUID
	for _, e := range events {
		i := byID[e.ID]
		done[i] = true
		if k := batch[i].key; k != uuid.Nil && !slices.Contains(committed, k) {
			committed = append(committed, k)
		}
		batch[i].done <- groupResult{res: resultOf(e.StreamID, []Event{e})}
	}
	if len(committed) > 0 {
		staged.Stored(committed)
	}
	var rest []groupItem
	for i, it := range batch {
		if !done[i] {
			rest = append(rest, it)
		}
	}
	return rest, nil
}
