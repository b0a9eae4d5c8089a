package projections

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/eventstore"
)

// BulkLoader is a BatchProjector that can write a rebuild's rows with COPY:
// Rebuild empties its tables first, so no row it writes is there yet.
type BulkLoader interface {
	BatchProjector
	// FoldBatch turns events, whole streams from their first event in stream
	// order, into the rows ApplyBatch would write for them, outside any
	// transaction. The Load it returns copies them into tables that hold
	// none of those rows.
	FoldBatch(ctx context.Context, events []eventstore.Event) (Load, error)
}

// Load writes rows inside tx.
type Load func(ctx context.Context, tx pgx.Tx) error

// copyIn is rows of one table, values in column order, ready for COPY.
type copyIn struct {
	table   string
	columns []string
	rows    [][]any
}

// copyRowsOf prepares rows, structs whose json tags name table's columns, for
// COPY. Values go in as Postgres reads the JSON text upsertRows sends.
func copyRowsOf[T any](table string, rows []T) copyIn {
	c := copyIn{table: table, columns: columns[T](), rows: make([][]any, len(rows))}
	for i := range rows {
		v := reflect.ValueOf(&rows[i]).Elem()
		values := make([]any, v.NumField())
		for j := range values {
			values[j] = v.Field(j).Interface()
			switch t := values[j].(type) {
			case uuid.UUID:
				values[j] = [16]byte(t) // as a driver.Valuer, it would go through text
			case time.Time:
				values[j] = pgTime(t)
			case *time.Time:
				if t != nil {
					values[j] = pgTime(*t)
				}
			}
		}
		c.rows[i] = values
	}
	return c
}

// copyAll is the Load that copies tables in order.
func copyAll(tables ...copyIn) Load {
	return func(ctx context.Context, tx pgx.Tx) error {
		for _, c := range tables {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.columns, pgx.CopyFromRows(c.rows)); err != nil {
				return fmt.Errorf("copy %s: %w", c.table, err)
			}
		}
		return nil
	}
}

// pgTime is t as Postgres reads its RFC 3339 text: the fraction of a second
// read as a double and rounded to microseconds, half to even. pgx's binary
// encoding would truncate the nanoseconds instead.
func pgTime(t time.Time) time.Time {
	ns := t.Nanosecond()
	us := math.RoundToEven(float64(ns) / 1e9 * 1e6)
	return t.Add(time.Duration(us)*time.Microsecond - time.Duration(ns))
}

// recordLoaded is recordApplied for events grouped by stream, of streams the
// bookkeeping does not hold yet: each stream's row is copied, except the row
// of the stream holding the newest event, which recordApplied writes along
// with the projection's progress.
func recordLoaded(ctx context.Context, tx pgx.Tx, name string, events []eventstore.Event) error {
	newest := events[0]
	for _, e := range events[1:] {
		if e.Position.After(newest.Position) {
			newest = e
		}
	}
	streams := copyIn{table: "projection_streams", columns: []string{"projection", "stream_id", "version", "transaction_id", "global_position"}}
	var own []eventstore.Event
	for i, e := range events {
		switch {
		case e.StreamID == newest.StreamID:
			own = append(own, e)
		case i+1 == len(events) || events[i+1].StreamID != e.StreamID:
			streams.rows = append(streams.rows, []any{name, e.StreamID, e.StreamVersion, e.Position.TransactionID, e.Position.GlobalPos})
		}
	}
	if err := copyAll(streams)(ctx, tx); err != nil {
		return err
	}
	return recordApplied(ctx, tx, name, own)
}
