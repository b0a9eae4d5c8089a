package eventstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// EventColumns are what readers select (QueryEvents), decoded by decodeEvent in this order.
// Postgres picks out the metadata fields; Metadata's fields must all be
// listed here. Data comes without its withheld fields (withheld.go).
var EventColumns = `global_position, transaction_id, event_id, stream_id, stream_version,
	event_type, schema_version, tenant_id, ` + ReadableData + `,
	coalesce(metadata->>'correlation_id', ''), coalesce(metadata->>'causation_id', ''),
	coalesce(metadata->>'actor', ''), coalesce(metadata->>'request_id', ''), coalesce(metadata->>'source', ''),
	recorded_at, prev_hash, hash, coalesce(metadata->>'traceparent', '')`

const eventColumnCount = 18

// binaryResults asks for every column in Postgres's binary format, which
// decodeEvent reads.
var binaryResults = pgx.QueryResultFormats{pgx.BinaryFormatCode}

// queryEvents runs sql, which selects EventColumns, and returns its events as
// stored (sealed). expect sizes the slice, so that a batch of "all" is not
// copied as it grows.
func queryEvents(ctx context.Context, q querier, expect int, sql string, args ...any) ([]Event, error) {
	rows, err := q.Query(ctx, sql, append([]any{binaryResults}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	events := make([]Event, 0, expect)
	var scratch []byte
	for rows.Next() {
		events = append(events, Event{})
		if scratch, err = decodeEvent(&events[len(events)-1], rows.RawValues(), scratch); err != nil {
			return nil, err
		}
	}
	return events, rows.Err()
}

// pgEpoch is where Postgres counts binary timestamps from.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

// decodeEvent fills e from one row of EventColumns in binary format. Every
// reader of the store and the relay go through here: pgx's Scan spent more
// choosing a plan per column and allocating each value than the copying
// itself. The row's strings share one allocation, its byte fields another;
// scratch is a buffer reused across rows, returned grown.
func decodeEvent(e *Event, v [][]byte, scratch []byte) ([]byte, error) {
	if len(v) != eventColumnCount {
		return scratch, fmt.Errorf("decode event: %d columns, want %d", len(v), eventColumnCount)
	}
	for i, c := range v {
		if c == nil {
			return scratch, fmt.Errorf("decode event: column %d is null", i)
		}
	}
	fixed := [...]struct{ col, size int }{{0, 8}, {1, 8}, {2, 16}, {4, 4}, {6, 4}, {14, 8}}
	for _, f := range fixed {
		if len(v[f.col]) != f.size {
			return scratch, fmt.Errorf("decode event: column %d has %d bytes, want %d", f.col, len(v[f.col]), f.size)
		}
	}
	data := v[8]
	if len(data) == 0 || data[0] != 1 { // jsonb's binary form: a version byte, then the text
		return scratch, fmt.Errorf("decode event: data is not jsonb version 1")
	}
	data = data[1:]

	e.Position.GlobalPos = int64(binary.BigEndian.Uint64(v[0]))
	e.Position.TransactionID = binary.BigEndian.Uint64(v[1])
	copy(e.ID[:], v[2])
	e.StreamVersion = int64(int32(binary.BigEndian.Uint32(v[4])))
	e.SchemaVersion = int(int32(binary.BigEndian.Uint32(v[6])))
	at := int64(binary.BigEndian.Uint64(v[14]))
	if at == math.MaxInt64 || at == math.MinInt64 {
		return scratch, fmt.Errorf("decode event: recorded_at is infinite")
	}
	e.RecordedAt = time.UnixMicro(pgEpoch + at).UTC()

	texts := [...]*string{&e.StreamID, &e.Type, &e.Tenant, &e.Metadata.CorrelationID, &e.Metadata.CausationID,
		&e.Metadata.Actor, &e.Metadata.RequestID, &e.Metadata.Source, &e.Metadata.TraceParent}
	textCols := [...][]byte{v[3], v[5], v[7], v[9], v[10], v[11], v[12], v[13], v[17]}
	scratch = scratch[:0]
	for _, c := range textCols {
		scratch = append(scratch, c...)
	}
	all := string(scratch)
	for i, c := range textCols {
		*texts[i], all = all[:len(c)], all[len(c):]
	}

	b := make([]byte, 0, len(data)+len(v[15])+len(v[16]))
	b = append(b, data...)
	e.Data = b[:len(b):len(b)]
	b = append(b, v[15]...)
	e.PrevHash = b[len(e.Data):len(b):len(b)]
	b = append(b, v[16]...)
	e.Hash = b[len(e.Data)+len(e.PrevHash):]
	return scratch, nil
}
