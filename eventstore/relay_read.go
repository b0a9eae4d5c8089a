package eventstore

import (
	"context"
	"fmt"
	"strconv"
)

// relayColumns are eventColumns shaped for the relay's hot path: data is
// scanned as bytes (into a json.RawMessage pgx would run json.Unmarshal on
// every row), and Postgres picks out the metadata fields.
const relayColumns = `global_position, transaction_id::text::bigint, event_id, stream_id, stream_version,
	event_type, schema_version, tenant_id, data,
	coalesce(metadata->>'correlation_id', ''), coalesce(metadata->>'causation_id', ''),
	coalesce(metadata->>'actor', ''), coalesce(metadata->>'request_id', ''), coalesce(metadata->>'source', ''),
	recorded_at, prev_hash, hash`

// readCommitted is readAll (same rows, same order, same snapshot rule) with
// relayColumns: the events are equal, only cheaper to read.
func readCommitted(ctx context.Context, q querier, after Position, limit int) ([]Event, error) {
	rows, err := q.Query(ctx, `SELECT `+relayColumns+` FROM events
		WHERE (transaction_id, global_position) > ($1::text::xid8, $2)
		  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY events.transaction_id, events.global_position
		LIMIT $3`, strconv.FormatUint(after.TransactionID, 10), after.GlobalPos, limit)
	if err != nil {
		return nil, fmt.Errorf("read all: %w", err)
	}
	defer rows.Close()
	events := make([]Event, 0, limit)
	for rows.Next() {
		var txid int64
		events = append(events, Event{})
		e := &events[len(events)-1]
		m := &e.Metadata
		if err := rows.Scan(&e.Position.GlobalPos, &txid, &e.ID, &e.StreamID, &e.StreamVersion,
			&e.Type, &e.SchemaVersion, &e.Tenant, (*[]byte)(&e.Data),
			&m.CorrelationID, &m.CausationID, &m.Actor, &m.RequestID, &m.Source,
			&e.RecordedAt, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("read all: %w", err)
		}
		e.Position.TransactionID = uint64(txid)
		e.RecordedAt = e.RecordedAt.UTC()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read all: %w", err)
	}
	return events, nil
}
