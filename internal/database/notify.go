package database

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"
)

// Notifier sends NOTIFYs on one channel after the fact, coalesced. A NOTIFY
// inside the committing transaction would take Postgres's global notify lock
// at commit and serialise every writer's commit (no group commit). So
// committers only flag that something changed, and one goroutine per
// Notifier sends a NOTIFY for however many flags arrived meanwhile.
type Notifier struct {
	pool    *pgxpool.Pool
	channel string
	every   time.Duration
	once    sync.Once
	pending chan struct{}
}

// NewNotifier returns a Notifier for channel that sends at most one NOTIFY
// per every (each one a transaction of its own); its goroutine starts with
// the first Signal and lives as long as the process.
func NewNotifier(pool *pgxpool.Pool, channel string, every time.Duration) *Notifier {
	return &Notifier{pool: pool, channel: channel, every: every, pending: make(chan struct{}, 1)}
}

// SetInterval changes how far apart NOTIFYs are sent; call it before the
// first Signal.
func (n *Notifier) SetInterval(d time.Duration) { n.every = d }

// Signal asks for a NOTIFY soon; it never blocks.
func (n *Notifier) Signal() {
	n.once.Do(func() { go n.loop() })
	select {
	case n.pending <- struct{}{}:
	default:
	}
}

func (n *Notifier) loop() {
	ctx := context.Background()
	var last time.Time
	for range n.pending {
		// Signals that arrive meanwhile are answered by the next NOTIFY.
		time.Sleep(time.Until(last.Add(n.every)))
		last = time.Now()
		// A wake-up need not be durable: its commit skips the WAL flush wait.
		if _, err := n.pool.Exec(ctx, `SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')`, n.channel); err != nil {
			// Harmless: listeners poll. It also happens when a short-lived command closes its pool.
			slog.DebugContext(ctx, "notify failed; listeners will poll", "channel", n.channel, "err", err)
		}
	}
}

// Listen signals wake on every notification on channel, and each time its
// LISTEN is (re)established, since notifications sent before that are lost.
// It reconnects with backoff until ctx ends; wake is never blocked on.
func Listen(ctx context.Context, pool *pgxpool.Pool, channel string, wake chan<- struct{}) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := listenOnce(ctx, pool, channel, wake)
		// A closed pool never comes back: its process is shutting down.
		if ctx.Err() != nil || errors.Is(err, puddle.ErrClosedPool) {
			return
		}
		slog.WarnContext(ctx, "listener lost; polling until it reconnects", "channel", channel, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func listenOnce(ctx context.Context, pool *pgxpool.Pool, channel string, wake chan<- struct{}) error {
	pooled, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A LISTENing connection must not go back to the pool.
	conn := pooled.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	for {
		select {
		case wake <- struct{}{}:
		default:
		}
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
	}
}
