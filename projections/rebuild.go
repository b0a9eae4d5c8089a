package projections

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"

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
		if _, err := tx.Exec(ctx, `TRUNCATE `+strings.Join(p.Tables(), ", ")); err != nil {
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
// streams, each in its own transaction. Neither commit order nor the order of
// batches matters here: a snapshot holds a prefix of every stream (an event is
// appended only after its predecessor committed), each row depends on its own
// stream only, and progress only moves forward. So a BulkLoader's batches are
// folded and copied in by a few goroutines and connections at once, while one
// connection reads on.
func rebuildByStream(ctx context.Context, pool *pgxpool.Pool, p BatchProjector, batch int, progress func(int64)) (int64, error) {
	fold := func(_ context.Context, events []eventstore.Event) (Load, error) {
		return func(ctx context.Context, tx pgx.Tx) error { return p.ApplyBatch(ctx, tx, events) }, nil
	}
	record, workers := recordApplied, 1
	if bl, ok := p.(BulkLoader); ok {
		// Capped: each worker holds batches in memory and a connection.
		fold, record, workers = bl.FoldBatch, recordLoaded, min(runtime.GOMAXPROCS(0), 4)
	}
	type folded struct {
		events []eventstore.Event
		load   Load
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		n        int64
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	read := make(chan []eventstore.Event, workers)
	batches := make(chan folded, workers)
	var readers, writers sync.WaitGroup
	readers.Go(func() {
		defer close(read)
		err := readStreams(ctx, pool, p.Categories(), batch, func(events []eventstore.Event) error {
			select {
			case read <- events:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if err != nil {
			fail(err)
		}
	})
	for range workers {
		readers.Go(func() {
			for events := range read {
				load, err := fold(ctx, events)
				if err != nil {
					fail(fmt.Errorf("%s: fold batch: %w", p.Name(), err))
					return
				}
				select {
				case batches <- folded{events, load}:
				case <-ctx.Done():
					return
				}
			}
		})
		writers.Go(func() {
			for b := range batches {
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					if err := b.load(ctx, tx); err != nil {
						return fmt.Errorf("%s: apply batch: %w", p.Name(), err)
					}
					return record(ctx, tx, p.Name(), b.events)
				})
				if err == nil {
					err = afterCommit(ctx, p, b.events)
				}
				if err != nil {
					fail(err)
					return
				}
				mu.Lock()
				n += int64(len(b.events))
				if progress != nil {
					progress(n)
				}
				mu.Unlock()
			}
		})
	}
	readers.Wait()
	close(batches)
	writers.Wait()
	if firstErr != nil {
		return n, fmt.Errorf("rebuild %s: %w", p.Name(), firstErr)
	}
	return n, nil
}

// readStreams reads the events of categories in one repeatable-read snapshot,
// ordered by stream and version, and hands them to send in batches of about
// batch events that never split a stream. The events carry what projectors
// read, not metadata or hashes. Streams are sorted by their bytes: any order
// will do, and the database's collation made the sort 10–15% slower.
func readStreams(ctx context.Context, pool *pgxpool.Pool, categories []string, batch int, send func([]eventstore.Event) error) error {
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	return pgx.BeginTxFunc(ctx, pool, opts, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT global_position, transaction_id, event_id, stream_id, stream_version,
				event_type, schema_version, tenant_id, data, recorded_at
			FROM events WHERE split_part(stream_id, '-', 1) = ANY($1)
			ORDER BY stream_id COLLATE "C", stream_version`, categories)
		if err != nil {
			return err
		}
		var (
			pending []eventstore.Event
			e       eventstore.Event
		)
		// ID and Data scan as their underlying types: as uuid.UUID and
		// json.RawMessage they would go through text and a JSON validation.
		_, err = pgx.ForEachRow(rows, []any{&e.Position.GlobalPos, &e.Position.TransactionID, (*[16]byte)(&e.ID), &e.StreamID,
			&e.StreamVersion, &e.Type, &e.SchemaVersion, &e.Tenant, (*[]byte)(&e.Data), &e.RecordedAt}, func() error {
			if len(pending) >= batch && e.StreamID != pending[len(pending)-1].StreamID {
				if err := send(pending); err != nil {
					return err
				}
				pending = make([]eventstore.Event, 0, batch+batch/4)
			}
			e.RecordedAt = e.RecordedAt.UTC()
			pending = append(pending, e)
			e.Data = nil // the next row scans into fresh memory
			return nil
		})
		if err != nil || len(pending) == 0 {
			return err
		}
		return send(pending)
	})
}
