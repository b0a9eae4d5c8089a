package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/shopify"
)

// ReconcileSource marks what reconciliation appends, in event metadata and
// so in traces and order timelines.
const ReconcileSource = "reconciliation"

// BackfillWindow is how far back an install's backfill reads: all Shopify
// lets an app without the read_all_orders scope see.
const BackfillWindow = 60 * 24 * time.Hour

// reconcileOverlap re-reads a little before the cursor: Shopify's search
// index can list a change a moment after its updated_at, and re-reading an
// order already applied appends nothing.
const reconcileOverlap = time.Minute

// ShopTokens gives a shop's Admin API access token.
type ShopTokens interface {
	AccessToken(ctx context.Context, shop string) (string, error)
}

// Reconciler heals what webhooks missed: per shop, it reads Shopify's orders
// updated since its cursor and applies each as a snapshot, exactly as an
// orders/updated webhook would be; the newest updated_at wins, so orders
// the webhooks already brought up to date append nothing.
type Reconciler struct {
	pool   *pgxpool.Pool
	app    *app.App
	admin  *shopify.AdminClient
	tokens ShopTokens
	log    *slog.Logger
	now    func() time.Time
}

// NewReconciler returns the reconciliation job.
func NewReconciler(pool *pgxpool.Pool, uses *app.App, admin *shopify.AdminClient, tokens ShopTokens, log *slog.Logger) *Reconciler {
	if log == nil {
		log = slog.Default()
	}
	return &Reconciler{pool: pool, app: uses, admin: admin, tokens: tokens, log: log, now: time.Now}
}

// StartBackfill makes the shop's next run read the last 60 days of orders:
// what an install calls, and what a reinstall calls again.
func (r *Reconciler) StartBackfill(ctx context.Context, shop string) error {
	now := r.now()
	_, err := r.pool.Exec(ctx, `
		INSERT INTO shopify_reconciliation (shop, updated_since, backfill_started_at) VALUES ($1, $2, $3)
		ON CONFLICT (shop) DO UPDATE SET updated_since = $2, backfill_started_at = $3, backfill_done_at = NULL,
			backfill_orders_read = 0, backfill_pages = 0, backfill_orders_total = NULL`,
		shop, now.Add(-BackfillWindow), now)
	return err
}

// Progress returns the shop's reconciliation state; found is false before
// its first backfill or run.
func (r *Reconciler) Progress(ctx context.Context, shop string) (p app.ReconcileProgress, found bool, err error) {
	err = r.pool.QueryRow(ctx, `
		SELECT shop, updated_since, last_run_at, last_error, orders_read, snapshots_appended, backfill_started_at, backfill_done_at,
			backfill_orders_read, backfill_pages, backfill_orders_total, backfill_total_exact, coalesce(claimed_until > now(), false)
		FROM shopify_reconciliation WHERE shop = $1`, shop).
		Scan(&p.Shop, &p.UpdatedSince, &p.LastRunAt, &p.LastError, &p.OrdersRead, &p.SnapshotsAppended, &p.BackfillStartedAt, &p.BackfillDoneAt,
			&p.BackfillOrdersRead, &p.BackfillPages, &p.BackfillOrdersTotal, &p.BackfillTotalExact, &p.Running)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, false, nil
	}
	return p, err == nil, err
}

// Run reconciles every installed shop each interval until ctx ends.
func (r *Reconciler) Run(ctx context.Context, interval time.Duration, shops func(context.Context) ([]string, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		list, err := shops(ctx)
		if err != nil {
			r.log.ErrorContext(ctx, "reconciliation: listing shops", "err", err)
		}
		for _, shop := range list {
			if err := r.Reconcile(ctx, shop); err != nil && ctx.Err() == nil {
				r.log.WarnContext(ctx, "reconciliation failed", "shop", shop, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// reconcileLease is how long a run's claim on its shop lasts; every page
// renews it, so it lapses only when the process running it died. It covers
// one page's calls with their throttling waits and retries, and no more: a
// killed process's claim holds the shop's reconciliation back until it lapses.
const reconcileLease = time.Minute

// Reconcile reads one shop's orders updated since its cursor, page by page,
// and applies what its webhooks missed. A shop another process has claimed
// is skipped. No transaction stays open while Shopify is called: the claim
// is a lease written and committed first. The cursor moves only when a run
// completes; a failed run keeps its error for the progress report and is
// retried whole (re-applying a snapshot appends nothing).
func (r *Reconciler) Reconcile(ctx context.Context, shop string) error {
	token, err := r.tokens.AccessToken(ctx, shop)
	if err != nil {
		return fmt.Errorf("access token of %s: %w", shop, err)
	}
	claim := uuid.New()
	var since time.Time
	var backfill *time.Time
	var backfilling bool
	// A shop seen for the first time starts at the backfill window. A run
	// of an unfinished backfill counts its progress from zero: it reads
	// everything again.
	err = r.pool.QueryRow(ctx, `
		INSERT INTO shopify_reconciliation AS r (shop, updated_since, claimed_by, claimed_until)
		VALUES ($1, $2, $3, now() + $4::interval)
		ON CONFLICT (shop) DO UPDATE SET claimed_by = $3, claimed_until = now() + $4::interval,
			backfill_orders_read = CASE WHEN r.backfill_done_at IS NULL THEN 0 ELSE r.backfill_orders_read END,
			backfill_pages = CASE WHEN r.backfill_done_at IS NULL THEN 0 ELSE r.backfill_pages END
			WHERE r.claimed_until IS NULL OR r.claimed_until < now()
		RETURNING updated_since, backfill_started_at, backfill_started_at IS NOT NULL AND backfill_done_at IS NULL`,
		shop, r.now().Add(-BackfillWindow), claim, reconcileLease).Scan(&since, &backfill, &backfilling)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // another process is on it
	}
	if err != nil {
		return err
	}
	// Writes after the calls carry on when ctx ends, so a cancelled run
	// still releases its claim and records why it stopped.
	release := context.WithoutCancel(ctx)
	fail := func(cause error) error {
		_, _ = r.pool.Exec(release, `
			UPDATE shopify_reconciliation SET last_error = $3, last_run_at = $4, claimed_by = NULL, claimed_until = NULL
			WHERE shop = $1 AND claimed_by = $2`, shop, claim, cause.Error(), r.now())
		return cause
	}
	started := r.now()
	meta := eventstore.Metadata{CorrelationID: uuid.NewString(), Actor: ReconcileSource, Source: ReconcileSource}
	from := since.Add(-reconcileOverlap)
	if backfilling {
		// How many there are to read, for the progress shown in the app.
		total, exact, err := r.admin.OrdersCount(ctx, shop, token, from)
		if err != nil {
			return fail(err)
		}
		if _, err := r.pool.Exec(ctx, `UPDATE shopify_reconciliation SET backfill_orders_total = $3, backfill_total_exact = $4
			WHERE shop = $1 AND claimed_by = $2`, shop, claim, total, exact); err != nil {
			return fail(err)
		}
	}
	cursor, after := since, ""
	var read, appended int64
	for {
		page, err := r.admin.OrdersUpdatedSince(ctx, shop, token, from, after)
		if err != nil {
			return fail(err)
		}
		var pageRead, pageAppended int64
		for i, body := range page.Orders {
			n, err := r.apply(ctx, shop, body, meta)
			if err != nil {
				return fail(err)
			}
			pageRead++
			pageAppended += int64(n)
			cursor = maxTime(cursor, page.UpdatedAt[i])
		}
		read, appended = read+pageRead, appended+pageAppended
		if page.Truncated > 0 {
			r.log.WarnContext(ctx, "reconciliation: orders too large for a page left to their webhooks", "shop", shop, "count", page.Truncated)
		}
		// Each page's progress is kept as it goes, and renews the claim.
		tag, err := r.pool.Exec(ctx, `
			UPDATE shopify_reconciliation SET claimed_until = now() + $3::interval,
				orders_read = orders_read + $4, snapshots_appended = snapshots_appended + $5,
				backfill_orders_read = backfill_orders_read + CASE WHEN $6 THEN $4 ELSE 0 END,
				backfill_pages = backfill_pages + CASE WHEN $6 THEN 1 ELSE 0 END
			WHERE shop = $1 AND claimed_by = $2`, shop, claim, reconcileLease, pageRead, pageAppended, backfilling)
		if err != nil {
			return fail(err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("reconciliation of %s: the claim lapsed and another process took over", shop)
		}
		if page.After == "" {
			break
		}
		after = page.After
	}
	// The cursor never passes the run's start: an order changed while the
	// pages were read is read again next time. A backfill started meanwhile
	// keeps its earlier cursor.
	cursor = minTime(cursor, started)
	if _, err := r.pool.Exec(release, `
		UPDATE shopify_reconciliation SET last_run_at = $4, last_error = NULL,
			updated_since = CASE WHEN backfill_started_at IS NOT DISTINCT FROM $5 THEN $3 ELSE updated_since END,
			backfill_done_at = CASE WHEN backfill_started_at IS NOT DISTINCT FROM $5 AND backfill_started_at IS NOT NULL AND backfill_done_at IS NULL
				THEN $4 ELSE backfill_done_at END,
			claimed_by = NULL, claimed_until = NULL
		WHERE shop = $1 AND claimed_by = $2`, shop, claim, cursor, r.now(), backfill); err != nil {
		return err
	}
	if appended > 0 {
		r.log.InfoContext(ctx, "reconciliation healed orders", "shop", shop, "orders_read", read, "events", appended)
	}
	return nil
}

// apply brings one order to Shopify's snapshot, returning the events appended.
func (r *Reconciler) apply(ctx context.Context, shop string, body []byte, meta eventstore.Metadata) (int, error) {
	snap, err := shopify.DecodeOrder(body)
	if err != nil {
		return 0, fmt.Errorf("order from the Admin API: %w", err)
	}
	res, err := r.app.ApplyShopifyOrder(ctx, app.Caller{Shop: shop, Meta: meta}, snap)
	return len(res.Events), err
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
