package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/eventstore"
)

// Rebuild empties p's read model and replays every event of its categories
// from the event store, in batches. A BatchProjector gets whole streams, many
// per transaction; any other projector gets events in commit order, one
// transaction each.
func Rebuild(ctx context.Context, store *eventstore.Store, p Projector, progress func(int64)) (int64, error) {
	return rebuild(ctx, store, p, 5000, progress)
}

func rebuild(ctx context.Context, store *eventstore.Store, p Projector, batch int, progress func(int64)) (int64, error) {
	pool := store.Pool()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := p.Reset(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM projection_streams WHERE projection = $1`, p.Name()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM projection_progress WHERE projection = $1`, p.Name())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("reset %s: %w", p.Name(), err)
	}
	if bp, ok := p.(BatchProjector); ok {
		return rebuildByStream(ctx, pool, bp, batch, progress)
	}
	wanted := map[string]bool{}
	for _, c := range p.Categories() {
		wanted[c] = true
	}
	var n int64
	pos := eventstore.Start
	for {
		events, err := store.ReadAll(ctx, pos, batch)
		if err != nil {
			return n, err
		}
		if len(events) == 0 {
			return n, nil
		}
		pos = events[len(events)-1].Position
		for _, e := range events {
			if !wanted[eventstore.Category(e.StreamID)] {
				continue
			}
			if _, err := ApplyOnce(ctx, pool, p, e); err != nil {
				return n, err
			}
			n++
		}
		if progress != nil {
			progress(n)
		}
	}
}

// rebuildByStream reads the categories' streams one after another from one
// snapshot and applies them in batches of about batch events, cut between
// streams. Commit order does not matter here: a snapshot holds a prefix of
// every stream (an event is appended only after its predecessor committed),
// and each row depends on its own stream only. The events carry what
// projectors read, not metadata or hashes.
func rebuildByStream(ctx context.Context, pool *pgxpool.Pool, p BatchProjector, batch int, progress func(int64)) (int64, error) {
	var (
		n       int64
		pending []eventstore.Event
	)
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := applyBatch(ctx, pool, p, pending); err != nil {
			return err
		}
		n += int64(len(pending))
		pending = nil
		if progress != nil {
			progress(n)
		}
		return nil
	}
	read := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err := pgx.BeginTxFunc(ctx, pool, read, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT global_position, transaction_id::text::bigint, event_id, stream_id, stream_version,
				event_type, schema_version, tenant_id, data, recorded_at
			FROM events WHERE split_part(stream_id, '-', 1) = ANY($1)
			ORDER BY stream_id, stream_version`, p.Categories())
		if err != nil {
			return err
		}
		var (
			e    eventstore.Event
			txid int64
		)
		_, err = pgx.ForEachRow(rows, []any{&e.Position.GlobalPos, &txid, &e.ID, &e.StreamID, &e.StreamVersion,
			&e.Type, &e.SchemaVersion, &e.Tenant, &e.Data, &e.RecordedAt}, func() error {
			if len(pending) >= batch && e.StreamID != pending[len(pending)-1].StreamID {
				if err := flush(); err != nil {
					return err
				}
			}
			e.Position.TransactionID = uint64(txid)
			e.RecordedAt = e.RecordedAt.UTC()
			pending = append(pending, e)
			e.Data = nil // the next row scans into fresh memory
			return nil
		})
		if err != nil {
			return err
		}
		return flush()
	})
	if err != nil {
		return n, fmt.Errorf("rebuild %s: %w", p.Name(), err)
	}
	return n, nil
}

// applyBatch applies events in one transaction, with the same bookkeeping as
// ApplyOnce. They come from the store, which holds no gaps or duplicates.
func applyBatch(ctx context.Context, pool *pgxpool.Pool, p BatchProjector, events []eventstore.Event) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := p.ApplyBatch(ctx, tx, events); err != nil {
			return fmt.Errorf("%s: apply batch: %w", p.Name(), err)
		}
		return recordApplied(ctx, tx, p.Name(), events)
	})
	if err != nil {
		return err
	}
	return afterCommit(ctx, p, events)
}
