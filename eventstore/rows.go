package eventstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
)

// insertEventsSQL inserts the rows of e, the arrays of a rowSet unnested.
const insertEventsSQL = `
INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, tenant_id, data, metadata)
SELECT e.id, e.stream, e.version, e.typ, e.sv, e.tenant, e.data::jsonb, e.meta::jsonb`

// rowArrays are a rowSet's arrays as parameters $1 to $8.
const rowArrays = `$1::uuid[], $2::text[], $3::int[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[]`

// insertRowsSQL writes events of any streams at the versions given, in one
// statement.
const insertRowsSQL = insertEventsSQL + `
  FROM unnest(` + rowArrays + `)
       WITH ORDINALITY AS e(id, stream, version, typ, sv, tenant, data, meta, ord)
 ORDER BY e.ord`

// rowSet is events as the arrays insertRowsSQL unnests.
type rowSet struct {
	ids      []uuid.UUID
	streams  []string
	versions []int32
	types    []string
	schemas  []int32
	tenants  []string
	data     []string
	metas    []string
}

func (s *rowSet) add(stream string, version int64, r eventRow) {
	s.ids, s.streams, s.versions = append(s.ids, r.id), append(s.streams, stream), append(s.versions, int32(version))
	s.types, s.schemas, s.tenants = append(s.types, r.typ), append(s.schemas, r.schema), append(s.tenants, r.tenant)
	s.data, s.metas = append(s.data, r.data), append(s.metas, r.meta)
}

func (s *rowSet) args() []any {
	return []any{s.ids, s.streams, s.versions, s.types, s.schemas, s.tenants, s.data, s.metas}
}

// insertCombinedSQL is appendCombined's statement: it fails whole on any
// conflict, unlike the group commit's.
const insertCombinedSQL = insertRowsSQL + `
RETURNING ` + assignedColumns

// errCombined means a combined append failed on a constraint without saying
// which stream's: the caller appends stream by stream for the precise error.
var errCombined = errors.New("combined append refused")

// appendCombined appends to every stream in one statement. A webhook batch
// appends to a hundred streams at once, and Postgres spends several times
// more on a one-row statement than on a row of a larger one. Every append
// must name its expected version (none AnyVersion).
func appendCombined(ctx context.Context, q querier, appends []StreamAppend) ([]AppendResult, error) {
	ins := make([]insert, len(appends))
	for i, a := range appends {
		var err error
		if ins[i], err = prepareAppend(a); err != nil {
			return nil, err
		}
	}
	// In stream order, so two transactions holding the same streams wait
	// for each other in one direction and never deadlock.
	order := make([]int, len(appends))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return strings.Compare(appends[x].Stream, appends[y].Stream) })
	type at struct{ append, event int }
	where := map[uuid.UUID]at{}
	var rows rowSet
	for _, i := range order {
		in := ins[i]
		for j := range in.ids {
			rows.add(in.a.Stream, int64(in.a.Expected)+1+int64(j), in.row(j))
			where[in.ids[j]] = at{i, j}
		}
	}
	start := time.Now()
	result, err := q.Query(ctx, insertCombinedSQL, rows.args()...)
	var events []Event
	if err == nil {
		events, err = collectAssigned(result, func(id uuid.UUID) (string, NewEvent, string) {
			w := where[id]
			return appends[w.append].Stream, appends[w.append].Events[w.event], ins[w.append].data[w.event]
		})
	}
	observeAppend(start, err)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return nil, fmt.Errorf("%w: %w", errCombined, err)
	}
	if err != nil {
		return nil, fmt.Errorf("append to %d streams: %w", len(appends), err)
	}
	byAppend := make([][]Event, len(appends))
	for _, e := range events {
		i := where[e.ID].append
		byAppend[i] = append(byAppend[i], e)
	}
	results := make([]AppendResult, len(appends))
	for i, a := range appends {
		results[i] = resultOf(a.Stream, byAppend[i])
	}
	return results, nil
}
