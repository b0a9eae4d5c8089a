package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/bench/load"
)

// endToEnd is scenario 2: from a webhook's ack to its order's row in
// orders_view, through the relay, Redis Streams, the webhook processor, the
// order's events, the relay again and the orders projector, all running in
// one child process (the load generator stays in this one). The baseline is the measurement's own floor: rows a pgx
// INSERT commits straight into a table, found by the same watcher.
//
// It sweeps the rates of e2eRates (and 2000/s when 1000/s held) and prints
// for each the CPU per webhook by process, next to what capture alone costs
// at the same rate in the same run, then what the platform costs idle. It
// runs on a redis-server of its own, so Redis's CPU is the scenario's, and
// where it can on a PostgreSQL server of its own, so statements are counted.
func (b *bench) endToEnd(ctx context.Context) error {
	rds, err := startPrivateRedis(ctx, b.tmp)
	if err != nil {
		return err
	}
	defer rds.stop()
	base := b.base
	base.RedisURL = rds.url
	// Without a server of its own the scenario still runs, counting no
	// statements unless the configured server loads pg_stat_statements.
	if pg, err := startPrivatePostgres(ctx, base.DatabaseURL); err != nil {
		b.note("Scenario 2 ran on the configured PostgreSQL server: %v.", err)
	} else {
		defer pg.stop()
		base.DatabaseURL, base.DatabaseReadURL = pg.url, pg.url
		b.note("Scenario 2 ran on a PostgreSQL server of its own (%s), with pg_stat_statements and the configured server's %s.",
			filepath.Join(pg.bin, "postgres"), strings.Join(pg.settings, ", "))
	}
	rates := slices.Clone(b.size.e2eRates)
	capture, err := b.openCapture(ctx, base, rds.pid())
	if err != nil {
		return err
	}
	defer capture.close()
	e, err := b.openWith(ctx, base)
	if err != nil {
		return err
	}
	defer e.close()
	if _, err := e.p.Pool.Exec(ctx, visibleSQL); err != nil {
		return err
	}
	platform, err := b.startChild(ctx, e, childPipeline)
	if err != nil {
		return err
	}
	// Stopped before e.close removes its streams under it.
	defer platform.stop()
	url := platform.url

	client := httpClient()
	hooks := newWebhooks()
	send := func(ctx context.Context) (int64, error) {
		d := hooks.make()
		return d.orderID, post(ctx, client, url, d)
	}
	w := newWatcher(e.cfg.DatabaseURL, "bench_orders_view")
	// Warm-up: orders through the whole path before measuring, so that the
	// pools' connections are open and have their statements prepared, as in
	// a deployment that has been running: otherwise the first rate of the
	// sweep pays for them.
	warm := load.Open{Rate: 100, Duration: min(b.size.phase, 3*time.Second)}
	if _, missing, err := w.measure(ctx, warm, send); err != nil || missing > 0 {
		return fmt.Errorf("warm-up: %d orders not visible: %v", missing, err)
	}
	w.summary()
	meter := newCostMeter(ctx, e.p.Pool, e.dbName, rds.pid(), platform.cmd.Process.Pid)
	var sweep []sweepRow
	for i := 0; i < len(rates); i++ {
		rate := rates[i]
		open := load.Open{Rate: rate, Duration: b.size.phase}
		captured, err := capture.cost(ctx, open)
		if err != nil {
			return err
		}
		var (
			acks    load.Summary
			missing int
		)
		spent, err := meter.measure(ctx, func() (int64, error) {
			var err error
			if acks, missing, err = w.measure(ctx, open, send); err == nil {
				err = e.caughtUp(ctx)
			}
			return int64(acks.Count), err
		})
		if err != nil {
			return err
		}
		subject := w.summary()
		row := sweepRow{rate: rate, pipeline: spent, capture: captured, ackP99: acks.P99MS, visibleP99: subject.P99MS,
			missing: missing + acks.Errors}
		sweep = append(sweep, row)
		fmt.Printf("   %s\n", row)
		b.note("Scenario 2 at %.0f/s, from the first webhook until every order was visible: %s; capture alone at the same rate: %s.",
			rate, spent, row.capture)
		if len(spent.top) > 0 {
			b.note("Scenario 2 at %.0f/s, the costliest statements, calls and time per webhook: %s.", rate, spent.topPerWebhook())
		}
		if rate == 1000 && row.missing == 0 && subject.P99MS < 1000 {
			rates = append(rates, 2000)
		}
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
		floor := newWatcher(e.cfg.DatabaseURL, "bench_floor")
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
		if rate == 500 {
			b.goal("2", fmt.Sprintf("ack → orders_view p99 < 100 ms at %.0f webhooks/s", rate),
				fmt.Sprintf("p99 %.0f ms, median %.0f ms; %d of %d acknowledged orders visible", subject.P99MS, subject.MedianMS,
					subject.Count, acks.Count),
				subject.P99MS < 100 && missing == 0 && acks.Errors == 0)
		}
	}
	idle, err := b.idleCost(ctx, meter)
	if err != nil {
		return err
	}
	if trips, err := measureRoundTrips(ctx, rds.url, rds.pid()); err != nil {
		b.note("Scenario 2, the cost of waking: not measured: %v.", err)
	} else {
		b.note("Scenario 2, the cost of waking: %s.", trips)
	}
	b.sweepGoals(sweep, idle)
	b.note("Scenario 2: api, relay, projectors, the webhook processor and the workers that call no outside service (stock, privacy requests; not emails or Shopify calls) in one Ordermill process, a child of the bench; " +
		"the load generator and the watcher stay in the bench process. A row is visible when Postgres delivers the NOTIFY " +
		"that a trigger on the table sends as the row's transaction commits, so the watcher adds no queries to the load; " +
		"the floor is that mechanism alone, on a table a pgx INSERT writes to. The trigger runs in the projector's " +
		"backend, so its pg_notify (one per order) is counted in the pipeline's Postgres CPU. CPU is counted per process " +
		"from /proc: the Ordermill process, the Postgres backends it connected to the scenario's database (not the " +
		"server's shared background processes) and the scenario's own redis-server; the bench process and its own " +
		"backends (load generator, watcher, cost meter) are shown apart and not counted. Transactions from " +
		"pg_stat_database and statements from pg_stat_statements (loaded by the scenario's own server; counted on the " +
		"configured one only where it loads it) include the meter's few queries. Wake-ups are the times a thread of those " +
		"processes went to sleep and was woken (voluntary context switches, from /proc): they count what the code does, " +
		"while what each costs is the machine's (the cost of waking, above). Capture alone is the api role only, in " +
		"a child process of its own, on a database of its own, at the same rates.")
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

// caughtUp waits, up to drainTimeout, until every consumer group of the
// scenario's streams has been handed and has acknowledged every entry: the
// stock worker's work, which orders_view does not wait for, belongs to the
// rate that caused it, not to the next rate or the idle platform.
func (e *env) caughtUp(ctx context.Context) error {
	for deadline := time.Now().Add(drainTimeout); ; {
		behind, err := e.groupsBehind(ctx)
		if err != nil || behind == 0 || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// groupsBehind counts the entries the scenario's running consumer groups
// have not been handed or not acknowledged yet.
func (e *env) groupsBehind(ctx context.Context) (int64, error) {
	var behind int64
	iter := e.p.Redis.ScanType(ctx, 0, e.cfg.StreamPrefix+"*", 1000, "stream").Iterator()
	for iter.Next(ctx) {
		groups, err := e.p.Redis.XInfoGroups(ctx, iter.Val()).Result()
		if err != nil {
			return 0, err
		}
		for _, g := range groups {
			if g.Consumers > 0 { // groups of workers the scenario does not run have none
				behind += g.Pending + max(g.Lag, 0)
			}
		}
	}
	return behind, iter.Err()
}

// visibleSQL makes Postgres announce, as each transaction commits, the
// Shopify ids of the orders it made visible in orders_view, and those of the
// floor's table.
const visibleSQL = `
CREATE TABLE bench_visible (shopify_id bigint PRIMARY KEY);
CREATE FUNCTION bench_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_ARGV[0], NEW.shopify_id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER bench_notify AFTER INSERT ON orders_view
    FOR EACH ROW WHEN (NEW.shopify_id IS NOT NULL) EXECUTE FUNCTION bench_notify('bench_orders_view');
CREATE TRIGGER bench_notify AFTER INSERT ON bench_visible
    FOR EACH ROW EXECUTE FUNCTION bench_notify('bench_floor');`

// watcher times how long each acknowledged id takes to become visible: from
// its acknowledgement to the notification of its channel naming it.
type watcher struct {
	dbURL, channel string

	mu        sync.Mutex
	pending   map[int64]time.Time // id → when it was acknowledged
	early     map[int64]bool      // visible before its acknowledgement arrived
	latencies []time.Duration
}

func newWatcher(dbURL, channel string) *watcher {
	return &watcher{dbURL: dbURL, channel: channel, pending: map[int64]time.Time{}, early: map[int64]bool{}}
}

// measure runs send under runner while listening, then waits until every
// acknowledged id is visible or drainTimeout has passed. It returns the
// send summary and how many acknowledged ids never became visible.
func (w *watcher) measure(ctx context.Context, runner interface {
	Run(context.Context, load.Op) load.Summary
}, send func(context.Context) (int64, error)) (acks load.Summary, missing int, err error) {
	conn, err := pgx.Connect(ctx, w.dbURL)
	if err != nil {
		return acks, 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+w.channel); err != nil {
		return acks, 0, err
	}
	listenCtx, stop := context.WithCancel(ctx)
	defer stop()
	listened := make(chan error, 1)
	go func() { listened <- w.listen(listenCtx, conn) }()
	acks = runner.Run(ctx, func(ctx context.Context, _ int) error {
		id, err := send(ctx)
		if err == nil {
			w.acknowledged(id, time.Now())
		}
		return err
	})
	deadline := time.Now().Add(drainTimeout)
	for w.waiting() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if err := <-listened; err != nil && listenCtx.Err() == nil {
		return acks, 0, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	missing = len(w.pending)
	clear(w.pending)
	clear(w.early)
	return acks, missing, nil
}

func (w *watcher) acknowledged(id int64, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.early[id] {
		delete(w.early, id)
		w.latencies = append(w.latencies, 0)
		return
	}
	w.pending[id] = at
}

// listen records each notified id until ctx ends.
func (w *watcher) listen(ctx context.Context, conn *pgx.Conn) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		id, err := strconv.ParseInt(n.Payload, 10, 64)
		if err != nil {
			return fmt.Errorf("notification %q: %w", n.Payload, err)
		}
		w.mu.Lock()
		if at, ok := w.pending[id]; ok {
			w.latencies = append(w.latencies, now.Sub(at))
			delete(w.pending, id)
		} else {
			w.early[id] = true
		}
		w.mu.Unlock()
	}
}

func (w *watcher) waiting() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

// summary is the visibility latencies so far, and forgets them.
func (w *watcher) summary() load.Summary {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := load.Summarize(w.latencies)
	w.latencies = nil
	return s
}
