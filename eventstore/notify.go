package eventstore

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5"
)

// notifyChannel is the LISTEN/NOTIFY channel that wakes followers of "all".
const notifyChannel = "ordermill_events"

// A NOTIFY inside the appending transaction would take Postgres's global
// notify lock at commit and serialise every writer's commit (no group
// commit). So appends only flag that something was written, and one
// goroutine per process sends a coalesced NOTIFY after the fact.
func (s *Store) signalAppended() {
	s.notifyOnce.Do(func() { go s.notifyLoop() })
	select {
	case s.appended <- struct{}{}:
	default:
	}
}

// notifyLoop lives as long as the process: a Store is made once per process.
func (s *Store) notifyLoop() {
	ctx := context.Background()
	for range s.appended {
		if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, '')`, notifyChannel); err != nil {
			// Harmless: followers poll. It also happens when a short-lived command closes its pool.
			slog.DebugContext(ctx, "notify followers failed; they will poll", "err", err)
		}
	}
}

// InTx runs fn in a transaction and wakes followers after it commits. Use it
// (rather than a bare pgx.BeginFunc) around AppendTx.
func (s *Store) InTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := pgx.BeginFunc(ctx, s.pool, fn); err != nil {
		return err
	}
	s.signalAppended()
	return nil
}
