package eventstore

import (
	"context"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// LoadCheckpoint returns where the named reader of "all" got to (Start if never saved).
func (s *Store) LoadCheckpoint(ctx context.Context, name string) (Position, error) {
	var (
		p    Position
		txid int64
	)
	err := s.pool.QueryRow(ctx, `SELECT transaction_id::text::bigint, global_position FROM checkpoints WHERE name = $1`, name).
		Scan(&txid, &p.GlobalPos)
	if errors.Is(err, pgx.ErrNoRows) {
		return Start, nil
	}
	p.TransactionID = uint64(txid)
	return p, err
}

// SaveCheckpoint records that the named reader has handled everything up to p.
func (s *Store) SaveCheckpoint(ctx context.Context, name string, p Position) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO checkpoints (name, transaction_id, global_position, updated_at)
		VALUES ($1, $2::text::xid8, $3, now())
		ON CONFLICT (name) DO UPDATE SET transaction_id = EXCLUDED.transaction_id,
			global_position = EXCLUDED.global_position, updated_at = now()`,
		name, strconv.FormatUint(p.TransactionID, 10), p.GlobalPos)
	return err
}
