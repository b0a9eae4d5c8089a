package api

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/database"
	"github.com/ordermill/ordermill/projections"
)

const (
	// positionPoll is how often progress is read while reads wait, whatever
	// the notifications say: one may be lost, a replica may lag behind it,
	// and a rebuild swaps tables without one.
	positionPoll = 200 * time.Millisecond
	// refreshSpacing bounds the reads a busy stream of notifications causes
	// to one per 20 ms, however many readers wait.
	refreshSpacing = 20 * time.Millisecond
	// watcherLinger keeps the listening connection over short pauses between waits.
	watcherLinger = 30 * time.Second
)

// positionWatcher lets every read of this process that waits for
// X-Min-Position share one wake-up. One goroutine keeps the projectors'
// progress (one query over projection_progress) and releases each waiter
// whose position it reaches. It reads progress when a projector announces
// that it applied events (LISTEN on projections.ProgressChannel), when a new
// waiter arrives after such an announcement, and every positionPoll while
// anyone waits. Waiters never query Postgres, so a waiting read costs the
// database nothing while it waits.
type positionWatcher struct {
	listen *pgxpool.Pool // the primary: replicas deliver no notifications
	read   *pgxpool.Pool // where read models are read, so reached means readable
	log    *slog.Logger
	poll   time.Duration // positionPoll
	kick   chan struct{}

	mu       sync.Mutex
	progress map[string]eventstore.Position
	stale    bool // a projector may have moved since progress was read
	failing  bool // the last read failed (logged once per streak)
	waiters  map[*positionWaiter]struct{}
	running  bool
}

type positionWaiter struct {
	projection string
	pos        eventstore.Position
	reached    chan struct{} // closed by the watcher
}

func newPositionWatcher(listen, read *pgxpool.Pool, log *slog.Logger) *positionWatcher {
	return &positionWatcher{listen: listen, read: read, log: log, poll: positionPoll, kick: make(chan struct{}, 1),
		stale: true, waiters: map[*positionWaiter]struct{}{}}
}

// wait reports whether projection has applied pos before ctx ends.
func (w *positionWatcher) wait(ctx context.Context, projection string, pos eventstore.Position) bool {
	pw := &positionWaiter{projection: projection, pos: pos, reached: make(chan struct{})}
	w.mu.Lock()
	// Progress only moves forward, so an old reading that says reached is right.
	if w.reachedLocked(projection, pos) {
		w.mu.Unlock()
		return true
	}
	w.waiters[pw] = struct{}{}
	if !w.running {
		w.running = true
		go w.run()
	}
	stale := w.stale
	w.mu.Unlock()
	if stale {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	select {
	case <-pw.reached:
		return true
	case <-ctx.Done():
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.waiters, pw)
	select {
	case <-pw.reached: // released while giving up
		return true
	default:
		return false
	}
}

func (w *positionWatcher) reachedLocked(projection string, pos eventstore.Position) bool {
	p, ok := w.progress[projection]
	return ok && !pos.After(p)
}

// run is the watcher's goroutine. It ends once nobody has waited for
// watcherLinger, and the next waiter starts it again.
func (w *positionWatcher) run() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	notified := make(chan struct{}, 1)
	go database.Listen(ctx, w.listen, projections.ProgressChannel, notified)
	poll := time.NewTicker(w.poll)
	defer poll.Stop()
	lastWaiter, lastRefresh := time.Now(), time.Time{}
	for {
		polled := false
		select {
		case <-notified:
			w.mu.Lock()
			w.stale = true
			w.mu.Unlock()
		case <-w.kick:
		case <-poll.C:
			polled = true
		}
		w.mu.Lock()
		waiting := len(w.waiters) > 0
		if !waiting && time.Since(lastWaiter) > watcherLinger {
			// Without a listener, notifications go unheard from now on.
			w.running, w.stale = false, true
			w.mu.Unlock()
			return
		}
		refresh := waiting && (w.stale || polled)
		w.mu.Unlock()
		if waiting {
			lastWaiter = time.Now()
		}
		if refresh {
			time.Sleep(time.Until(lastRefresh.Add(refreshSpacing)))
			lastRefresh = time.Now()
			w.refresh(ctx)
		}
	}
}

// refresh reads every projector's progress and releases the waiters it satisfies.
func (w *positionWatcher) refresh(ctx context.Context) {
	w.mu.Lock()
	w.stale = false // a notification during the read makes it stale again
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, minPositionWait)
	progress, err := readProgress(ctx, w.read)
	cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.stale = true
		if !w.failing {
			w.log.Warn("reading projector progress failed; reads waiting for a position may answer stale", "err", err)
		}
		w.failing = true
		return
	}
	w.failing = false
	w.progress = progress
	for pw := range w.waiters {
		if w.reachedLocked(pw.projection, pw.pos) {
			close(pw.reached)
			delete(w.waiters, pw)
		}
	}
}

func readProgress(ctx context.Context, pool *pgxpool.Pool) (map[string]eventstore.Position, error) {
	rows, err := pool.Query(ctx, `SELECT projection, transaction_id::text::bigint, global_position FROM projection_progress`)
	if err != nil {
		return nil, err
	}
	progress := map[string]eventstore.Position{}
	var (
		name string
		txid int64
		gpos int64
	)
	_, err = pgx.ForEachRow(rows, []any{&name, &txid, &gpos}, func() error {
		progress[name] = eventstore.Position{TransactionID: uint64(txid), GlobalPos: gpos}
		return nil
	})
	return progress, err
}
