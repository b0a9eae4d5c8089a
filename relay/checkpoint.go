package relay

import (
	"context"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/eventstore"
)

// LoadCheckpoint returns where the named reader of "all" (a relay) got to
// (eventstore.Start if never saved).
func LoadCheckpoint(ctx context.Context, pool *pgxpool.Pool, name string) (eventstore.Position, error) {
	var (
		p    eventstore.Position
		txid int64
	)
	err := pool.QueryRow(ctx, `SELECT transaction_id::text::bigint, global_position FROM checkpoints WHERE name = $1`, name).
		Scan(&txid, &p.GlobalPos)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventstore.Start, nil
	}
	p.TransactionID = uint64(txid)
	return p, err
}

// SaveCheckpoint records that the named reader has handled everything up to p.
func SaveCheckpoint(ctx context.Context, pool *pgxpool.Pool, name string, p eventstore.Position) error {
	_, err := pool.Exec(ctx, `INSERT INTO checkpoints (name, transaction_id, global_position, updated_at)
		VALUES ($1, $2::text::xid8, $3, now())
		ON CONFLICT (name) DO UPDATE SET transaction_id = EXCLUDED.transaction_id,
			global_position = EXCLUDED.global_position, updated_at = now()`,
		name, strconv.FormatUint(p.TransactionID, 10), p.GlobalPos)
	return err
}
