package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/relay"
)

// deadLetterPublisher is where a handler's given-up events go: it records
// each dead letter in Postgres, for the app to list and re-queue, before the
// message goes to the dead-letter stream (as Watermill's poison queue would). A failure of
// either leaves the message unacknowledged, so it is not lost.
type deadLetterPublisher struct {
	pub      message.Publisher
	pool     *pgxpool.Pool
	attempts int
}

func (d *deadLetterPublisher) Publish(topic string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		e, err := relay.FromMessage(msg)
		if err != nil {
			return err
		}
		_, err = d.pool.Exec(msg.Context(), `INSERT INTO dead_letters
			(shop, handler, event_id, stream_id, stream_version, event_type, error, attempts)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (handler, event_id) WHERE requeued_at IS NULL DO UPDATE
			SET error = EXCLUDED.error, attempts = dead_letters.attempts + EXCLUDED.attempts, failed_at = now()`,
			e.Tenant, msg.Metadata.Get(MetaHandler), e.ID, e.StreamID, e.StreamVersion, e.Type,
			msg.Metadata.Get(middleware.ReasonForPoisonedKey), d.attempts)
		if err != nil {
			return fmt.Errorf("record dead letter %s: %w", e.ID, err)
		}
		deadLettered.WithLabelValues(msg.Metadata.Get(MetaHandler)).Inc()
	}
	return d.pub.Publish(topic, msgs...)
}

func (d *deadLetterPublisher) Close() error { return d.pub.Close() }

// DeadLetter is an event a handler gave up on.
type DeadLetter struct {
	ID            int64      `json:"id"`
	Shop          string     `json:"shop"`
	Handler       string     `json:"handler"`
	EventID       string     `json:"event_id"`
	StreamID      string     `json:"stream_id"`
	StreamVersion int64      `json:"stream_version"`
	EventType     string     `json:"event_type"`
	Error         string     `json:"error"`
	Attempts      int        `json:"attempts"`
	FailedAt      time.Time  `json:"failed_at"`
	RequeuedAt    *time.Time `json:"requeued_at"`
}

// ErrDeadLetterNotFound means no open dead letter has the id in the shop.
var ErrDeadLetterNotFound = errors.New("no such open dead letter")

// DeadLetters lists and re-queues dead letters.
type DeadLetters struct {
	store  *eventstore.Store
	pub    message.Publisher
	prefix string
}

// NewDeadLetters returns the dead-letter list of store, re-queueing through pub
// (a Redis Streams publisher) to handlers under topic prefix.
func NewDeadLetters(store *eventstore.Store, pub message.Publisher, prefix string) *DeadLetters {
	return &DeadLetters{store: store, pub: pub, prefix: prefix}
}

const deadLetterColumns = `id, shop, handler, event_id::text, stream_id, stream_version, event_type, error, attempts, failed_at, requeued_at`

func scanDeadLetter(row pgx.CollectableRow) (DeadLetter, error) {
	var d DeadLetter
	err := row.Scan(&d.ID, &d.Shop, &d.Handler, &d.EventID, &d.StreamID, &d.StreamVersion, &d.EventType,
		&d.Error, &d.Attempts, &d.FailedAt, &d.RequeuedAt)
	return d, err
}

// List returns a shop's dead letters, newest first, with ids below before
// (0: from the newest). Re-queued ones are included only when all is set.
func (d *DeadLetters) List(ctx context.Context, shop string, all bool, before int64, limit int) ([]DeadLetter, error) {
	rows, err := d.store.Pool().Query(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters
		WHERE shop = $1 AND ($2 OR requeued_at IS NULL) AND ($3 = 0 OR id < $3)
		ORDER BY id DESC LIMIT $4`, shop, all, before, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanDeadLetter)
}

// Requeue publishes the dead letter's original event to its handler's
// requeue stream and marks it re-queued. Handlers are idempotent, so a
// re-queue that races a redelivery does no harm.
func (d *DeadLetters) Requeue(ctx context.Context, shop string, id int64) (DeadLetter, error) {
	var dl DeadLetter
	err := pgx.BeginFunc(ctx, d.store.Pool(), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters
			WHERE id = $1 AND shop = $2 AND requeued_at IS NULL FOR UPDATE`, id, shop)
		if err != nil {
			return err
		}
		dl, err = pgx.CollectExactlyOneRow(rows, scanDeadLetter)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrDeadLetterNotFound
		}
		if err != nil {
			return err
		}
		events, err := d.store.ReadStream(ctx, dl.StreamID, dl.StreamVersion)
		if err != nil {
			return err
		}
		if len(events) == 0 || events[0].ID.String() != dl.EventID {
			return fmt.Errorf("dead letter %d: event %s is not at %s v%d", id, dl.EventID, dl.StreamID, dl.StreamVersion)
		}
		msg, err := relay.ToMessage(events[0])
		if err != nil {
			return err
		}
		if err := d.pub.Publish(RequeueTopic(d.prefix, dl.Handler), msg); err != nil {
			return fmt.Errorf("requeue dead letter %d: %w", id, err)
		}
		return tx.QueryRow(ctx, `UPDATE dead_letters SET requeued_at = now() WHERE id = $1 RETURNING requeued_at`, id).
			Scan(&dl.RequeuedAt)
	})
	return dl, err
}
