// Package audit holds the auditor's features over the event store: verifying
// the hash chains, signed checkpoints and their export, the scheduled
// auditor, tracing a webhook to what it caused, exporting the log and
// reading a stream or an order as it was at a moment.
package audit

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/eventstore"
)

// Log is the auditor's view of an event store. It only reads events; what it
// writes (verify runs, signed checkpoints) lives in tables of its own.
type Log struct {
	store *eventstore.Store
	pool  *pgxpool.Pool
}

// New returns the audit view of store.
func New(store *eventstore.Store) *Log { return &Log{store: store, pool: store.Pool()} }
