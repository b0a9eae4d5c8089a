package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/bench/load"
	"github.com/ordermill/ordermill/workers"
)

// pollEvery is how often the watcher looks for newly visible rows: the
// resolution of every end-to-end figure.
const pollEvery = 2 * time.Millisecond

// endToEnd is scenario 2: from a webhook's ack to its order's row in
// orders_view, through the relay, Redis Streams, the webhook processor, the
// order's events, the relay again and the orders projector, all running in
// this process. The baseline is the measurement's own floor: rows a pgx
// INSERT commits straight into a table, found by the same watcher.
func (b *bench) endToEnd(ctx context.Context) error {
	e, err := b.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	url, err := e.serve()
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	var roles sync.WaitGroup
	// Stopped before e.close removes their streams under them.
	defer func() { stop(); roles.Wait() }()
	roles.Go(func() { _ = e.p.Run(runCtx, []string{"relay", "projectors"}) })
	// Of the workers only the webhook processor: the Shopify and SES workers
	// would call out to the real services for every order.
	roles.Go(func() { _ = workers.NewRouter(e.p.WorkersConfig(), e.p.WebhookProcessor().Handler()).Run(runCtx) })
	if _, err := e.p.Pool.Exec(ctx, `CREATE TABLE bench_visible (shopify_id bigint PRIMARY KEY)`); err != nil {
		return err
	}

	client := httpClient()
	hooks := newWebhooks()
	send := func(ctx context.Context) (int64, error) {
		d := hooks.make()
		return d.orderID, post(ctx, client, url, d)
	}
	w := newWatcher(e.p.Pool, `SELECT shopify_id FROM orders_view WHERE shop = '`+benchShop+`' AND shopify_id = ANY($1)`)
	// Warm-up: one order through the whole path before measuring.
	if _, missing, err := w.measure(ctx, load.Closed{Workers: 1, N: 1}, send); err != nil || missing > 0 {
		return fmt.Errorf("warm-up order not visible: %v", err)
	}
	w.summary()
	for _, rate := range b.size.e2eRates {
		open := load.Open{Rate: rate, Duration: b.size.phase}
		acks, missing, err := w.measure(ctx, open, send)
		if err != nil {
			return err
		}
		subject := w.summary()
		subject.Offered, subject.Errors = rate, missing
		if missing > 0 {
			subject.FirstError = fmt.Sprintf("not visible %s after the last send", drainTimeout)
			stages, err := pipelineStages(ctx, e)
			if err != nil {
				return err
			}
			b.note("Scenario 2 at %.0f/s: the pipeline fell behind; %s after sending stopped it had, counting every rate so far, %s.",
				rate, drainTimeout, stages)
		}
		// The floor: rows a pgx INSERT commits straight into a table, found by the same watcher.
		floor := newWatcher(e.p.Pool, `SELECT shopify_id FROM bench_visible WHERE shopify_id = ANY($1)`)
		if _, _, err := floor.measure(ctx, open, func(ctx context.Context) (int64, error) {
			id := hooks.make().orderID
			_, err := e.p.Pool.Exec(ctx, `INSERT INTO bench_visible VALUES ($1)`, id)
			return id, err
		}); err != nil {
			return err
		}
		baseline := floor.summary()
		baseline.Offered = rate
		b.row("2", latency(fmt.Sprintf("webhook ack at %.0f/s, whole pipeline running", rate), acks), Figure{Name: "–"}, 0, "")
		b.row("2", latency(fmt.Sprintf("ack → visible in orders_view at %.0f/s", rate), subject),
			latency("INSERT → visible (watcher floor)", baseline), ratio(subject.P99MS, baseline.P99MS), "p99")
		if rate == 500 || len(b.size.e2eRates) == 1 {
			b.goal("2", fmt.Sprintf("ack → orders_view p99 < 100 ms at %.0f webhooks/s", rate),
				fmt.Sprintf("p99 %.0f ms, median %.0f ms; %d of %d acknowledged orders visible", subject.P99MS, subject.MedianMS,
					subject.Count, acks.Count),
				subject.P99MS < 100 && missing == 0 && acks.Errors == 0)
		}
	}
	b.note("Scenario 2: api, relay, projectors and the webhook processor in one process with the load generator; "+
		"visibility is polled every %s, so each visibility figure includes up to that much extra.", pollEvery)
	return nil
}

// drainTimeout is how long orders may take to become visible after the
// last webhook was sent before they count as missing.
const drainTimeout = time.Minute

// pipelineStages counts how far the captured webhooks got: a stage far
// behind the one before it is the bottleneck.
func pipelineStages(ctx context.Context, e *env) (string, error) {
	var received, processed, placed, visible int64
	err := e.p.Pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM events WHERE event_type = 'webhook.received'),
		(SELECT count(*) FROM events WHERE event_type = 'webhook.processed'),
		(SELECT count(*) FROM events WHERE event_type = 'order.placed'),
		(SELECT count(*) FROM orders_view)`).Scan(&received, &processed, &placed, &visible)
	return fmt.Sprintf("%d webhooks captured, %d processed, %d orders placed, %d in orders_view",
		received, processed, placed, visible), err
}

// watcher times how long each acknowledged id takes to appear in a query's
// result, polling only for the ids still missing.
type watcher struct {
	pool  *pgxpool.Pool
	query string

	mu        sync.Mutex
	pending   map[int64]time.Time // id → when it was acknowledged
	latencies []time.Duration
}

func newWatcher(pool *pgxpool.Pool, query string) *watcher {
	return &watcher{pool: pool, query: query, pending: map[int64]time.Time{}}
}

// measure runs send under runner while polling, then waits until every
// acknowledged id is visible or drainTimeout has passed. It returns the
// send summary and how many acknowledged ids never became visible.
func (w *watcher) measure(ctx context.Context, runner interface {
	Run(context.Context, load.Op) load.Summary
}, send func(context.Context) (int64, error)) (acks load.Summary, missing int, err error) {
	done := make(chan struct{})
	polled := make(chan error, 1)
	go func() { polled <- w.poll(ctx, done) }()
	s := runner.Run(ctx, func(ctx context.Context, _ int) error {
		id, err := send(ctx)
		if err == nil {
			w.mu.Lock()
			w.pending[id] = time.Now()
			w.mu.Unlock()
		}
		return err
	})
	close(done)
	err = <-polled
	w.mu.Lock()
	defer w.mu.Unlock()
	missing = len(w.pending)
	clear(w.pending)
	return s, missing, err
}

// poll looks for pending ids until sending is done and none is pending, or
// drainTimeout after sending is done.
func (w *watcher) poll(ctx context.Context, done <-chan struct{}) error {
	deadline := time.Time{}
	for {
		w.mu.Lock()
		ids := make([]int64, 0, len(w.pending))
		for id := range w.pending {
			ids = append(ids, id)
		}
		w.mu.Unlock()
		select {
		case <-done:
			if len(ids) == 0 {
				return nil
			}
			if deadline.IsZero() {
				deadline = time.Now().Add(drainTimeout)
			} else if time.Now().After(deadline) {
				return nil
			}
		default:
		}
		if len(ids) > 0 {
			rows, err := w.pool.Query(ctx, w.query, ids)
			if err != nil {
				return err
			}
			seen, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return err
			}
			now := time.Now()
			w.mu.Lock()
			for _, id := range seen {
				if at, ok := w.pending[id]; ok {
					w.latencies = append(w.latencies, now.Sub(at))
					delete(w.pending, id)
				}
			}
			w.mu.Unlock()
		}
		time.Sleep(pollEvery)
	}
}

// summary is the visibility latencies so far, and forgets them.
func (w *watcher) summary() load.Summary {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := load.Summarize(w.latencies)
	w.latencies = nil
	return s
}
