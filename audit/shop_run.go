package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// progressEvery is how many events a verify walks between progress reports.
const progressEvery = 500

// shopRunStale is how long a run may go without a progress report before it
// counts as interrupted (its process stopped) and another may start.
const shopRunStale = time.Minute

// ShopRun is a recorded verify run of one shop's streams, started by a
// merchant: its totals when it started, how many events it has checked and,
// once finished, its report or the error that stopped it.
type ShopRun struct {
	ID            int64
	Shop          string
	StartedAt     time.Time
	FinishedAt    *time.Time
	EventsTotal   int64
	StreamsTotal  int64
	EventsChecked int64
	// Interrupted: unfinished, and no progress for a while.
	Interrupted bool
	Report      *AuditReport
	Error       string
}

// ErrShopRunInProgress is returned by StartShopRun while another run of the
// shop is still going.
var ErrShopRunInProgress = errors.New("a verify run of this shop is in progress")

// StartShopRun records a new verify run of shop with the number of its
// events and streams now; RunShop then walks them.
func (s *Log) StartShopRun(ctx context.Context, shop string) (ShopRun, error) {
	run := ShopRun{Shop: shop}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One start per shop at a time, so two clicks make one run.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('shop_verify_runs:' || $1))`, shop); err != nil {
			return err
		}
		var running bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM shop_verify_runs
			WHERE shop = $1 AND finished_at IS NULL AND updated_at > now() - $2::interval)`, shop, shopRunStale).Scan(&running); err != nil {
			return err
		}
		if running {
			return ErrShopRunInProgress
		}
		if err := tx.QueryRow(ctx, `SELECT count(*), count(DISTINCT stream_id) FROM events WHERE tenant_id = $1`, shop).
			Scan(&run.EventsTotal, &run.StreamsTotal); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO shop_verify_runs (shop, events_total, streams_total) VALUES ($1, $2, $3)
			RETURNING id, started_at`, shop, run.EventsTotal, run.StreamsTotal).Scan(&run.ID, &run.StartedAt)
	})
	if err != nil && !errors.Is(err, ErrShopRunInProgress) {
		err = fmt.Errorf("start verify run of %s: %w", shop, err)
	}
	run.StartedAt = run.StartedAt.UTC()
	return run, err
}

// RunShop audits the run's shop (opts.Shop is set to it), recording its
// progress as it goes and its outcome at the end; opts.Progress, when set,
// is called after each recorded report. Events appended since the run
// started are checked too, so the totals become what was checked.
func (s *Log) RunShop(ctx context.Context, run ShopRun, opts AuditOptions) (ShopRun, error) {
	report := opts.Progress
	var recordErr error
	opts.Shop = run.Shop
	opts.Progress = func(n int64) {
		if recordErr != nil {
			return
		}
		_, recordErr = s.pool.Exec(ctx, `UPDATE shop_verify_runs SET events_checked = $2, updated_at = now() WHERE id = $1`, run.ID, n)
		if recordErr == nil && report != nil {
			report(n)
		}
	}
	r, err := s.Audit(ctx, opts)
	if err == nil {
		err = recordErr
	}
	var stored any
	if err == nil {
		r.Findings = r.Findings[:min(len(r.Findings), maxStoredFindings)]
		run.Report, stored = &r, r
		run.EventsChecked, run.EventsTotal, run.StreamsTotal = r.Events, r.Events, r.Streams
	} else {
		run.Error = err.Error()
	}
	var finished time.Time
	// Recorded even when ctx ended, so the run does not read as still going.
	if uerr := s.pool.QueryRow(context.WithoutCancel(ctx), `UPDATE shop_verify_runs SET finished_at = now(), updated_at = now(),
		events_checked = CASE WHEN $2::jsonb IS NULL THEN events_checked ELSE $3 END,
		events_total = CASE WHEN $2::jsonb IS NULL THEN events_total ELSE $3 END,
		streams_total = CASE WHEN $2::jsonb IS NULL THEN streams_total ELSE $4 END,
		report = $2, error = $5 WHERE id = $1 RETURNING finished_at`,
		run.ID, stored, r.Events, r.Streams, run.Error).Scan(&finished); uerr != nil {
		return run, errors.Join(err, fmt.Errorf("record verify run %d: %w", run.ID, uerr))
	}
	finished = finished.UTC()
	run.FinishedAt = &finished
	return run, err
}

// ErrNoShopRun is returned by LatestShopRun before the shop's first run.
var ErrNoShopRun = errors.New("no verify run of this shop yet")

// LatestShopRun returns the shop's newest verify run, finished or not.
func (s *Log) LatestShopRun(ctx context.Context, shop string) (ShopRun, error) {
	run := ShopRun{Shop: shop}
	var report []byte
	err := s.pool.QueryRow(ctx, `SELECT id, started_at, finished_at, events_total, streams_total, events_checked,
			finished_at IS NULL AND updated_at <= now() - $2::interval, report, error
		FROM shop_verify_runs WHERE shop = $1 ORDER BY id DESC LIMIT 1`, shop, shopRunStale).
		Scan(&run.ID, &run.StartedAt, &run.FinishedAt, &run.EventsTotal, &run.StreamsTotal, &run.EventsChecked,
			&run.Interrupted, &report, &run.Error)
	if errors.Is(err, pgx.ErrNoRows) {
		return run, ErrNoShopRun
	}
	if err != nil {
		return run, fmt.Errorf("latest verify run of %s: %w", shop, err)
	}
	run.StartedAt = run.StartedAt.UTC()
	if run.FinishedAt != nil {
		t := run.FinishedAt.UTC()
		run.FinishedAt = &t
	}
	if report != nil {
		run.Report = &AuditReport{}
		if err := json.Unmarshal(report, run.Report); err != nil {
			return run, fmt.Errorf("latest verify run of %s: %w", shop, err)
		}
	}
	return run, nil
}
