package workers

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// ReportsHandlerName is the reports worker's handler name.
const ReportsHandlerName = "reports"

// MaxReportBytes bounds a stored report file; a larger one is recorded as
// report.failed rather than stored.
const MaxReportBytes = 16 << 20

// ReportBuilder builds requested reports from the read models, stores each
// file in report_files and records report.completed (or report.failed).
// Storing is an upsert by report id and the Report aggregate completes once,
// so a redelivered request rebuilds the same file and records nothing new.
type ReportBuilder struct {
	store *eventstore.Store
	read  *pgxpool.Pool // orders_view; a replica when configured
	now   func() time.Time
	log   *slog.Logger
}

// NewReportBuilder returns the reports worker; read is where orders_view is read.
func NewReportBuilder(store *eventstore.Store, read *pgxpool.Pool, log *slog.Logger) *ReportBuilder {
	if log == nil {
		log = slog.Default()
	}
	return &ReportBuilder{store: store, read: read, now: time.Now, log: log}
}

// Handler returns the worker for the router.
func (b *ReportBuilder) Handler() Handler {
	return Handler{Name: ReportsHandlerName, Categories: []string{"report"}, Handle: b.handle}
}

func (b *ReportBuilder) handle(ctx context.Context, e eventstore.Event) error {
	if e.Type != "report.requested" {
		return nil
	}
	report, err := b.load(ctx, e.StreamID)
	if err != nil {
		return err
	}
	if report.Snapshot().Status != domain.StatusRequested {
		return nil
	}
	file, rows, err := b.salesSummary(ctx, report)
	if err != nil {
		return err
	}
	s := report.Snapshot()
	if len(file) > MaxReportBytes {
		return b.record(ctx, e, func(r *domain.Report) ([]domain.Event, error) {
			return r.Fail(fmt.Sprintf("the report would be %d bytes, more than the %d allowed; choose fewer days", len(file), MaxReportBytes), b.now())
		})
	}
	if _, err := b.store.Pool().Exec(ctx, `INSERT INTO report_files (id, shop, csv) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET csv = EXCLUDED.csv, created_at = now()`, s.ID, s.Shop, file); err != nil {
		return fmt.Errorf("store report %s: %w", s.ID, err)
	}
	b.log.InfoContext(ctx, "report built", "report", s.ID, "shop", s.Shop, "rows", rows, "bytes", len(file))
	return b.record(ctx, e, func(r *domain.Report) ([]domain.Event, error) { return r.Complete(rows, len(file), b.now()) })
}

func (b *ReportBuilder) load(ctx context.Context, stream string) (*domain.Report, error) {
	history, err := b.store.ReadStream(ctx, stream, 1)
	if err != nil {
		return nil, err
	}
	return reportFromHistory(history)
}

func reportFromHistory(history []eventstore.Event) (*domain.Report, error) {
	events, err := eventstore.Decode(history)
	if err != nil {
		return nil, err
	}
	return domain.NewReportFromHistory(events)
}

func (b *ReportBuilder) record(ctx context.Context, source eventstore.Event, decide func(*domain.Report) ([]domain.Event, error)) error {
	_, err := app.Update(ctx, b.store, source.StreamID, domain.NewReportFromHistory, decide,
		app.By(source.Tenant, app.OutcomeMetadata(ReportsHandlerName, source)))
	return err
}

// SalesSummaryHeader is the first line of a sales summary CSV.
var SalesSummaryHeader = []string{"date", "currency", "orders", "gross", "refunds", "net"}

// salesSummary writes one row per UTC day and currency that has orders:
// orders placed that day, their totals (gross), what has been refunded of
// them so far (refunds) and the difference (net). Cancelled orders that were
// never paid (voided) are left out; a cancelled paid order counts until its
// refund nets it out. Refunds are attributed to the order's day, because
// orders_view keeps a running refunded amount, not one per refund date.
func (b *ReportBuilder) salesSummary(ctx context.Context, r *domain.Report) ([]byte, int, error) {
	s := r.Snapshot()
	start, end := r.Range()
	rows, err := b.read.Query(ctx, `SELECT to_char((placed_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD'), currency,
			count(*), sum(total)::bigint, sum(refunded)::bigint
		FROM orders_view
		WHERE shop = $1 AND placed_at >= $2 AND placed_at < $3 AND financial_status <> $4
		GROUP BY 1, 2 ORDER BY 1, 2`, s.Shop, start, end, domain.FinancialVoided)
	if err != nil {
		return nil, 0, fmt.Errorf("sales summary of %s: %w", s.Shop, err)
	}
	type day struct {
		date, currency        string
		orders, gross, refund int64
	}
	days, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (day, error) {
		var d day
		return d, row.Scan(&d.date, &d.currency, &d.orders, &d.gross, &d.refund)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("sales summary of %s: %w", s.Shop, err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(SalesSummaryHeader)
	for _, d := range days {
		money := func(amount int64) string { return domain.Money{Amount: amount, Currency: d.currency}.Decimal() }
		_ = w.Write([]string{d.date, d.currency, strconv.FormatInt(d.orders, 10), money(d.gross), money(d.refund), money(d.gross - d.refund)})
	}
	w.Flush()
	return buf.Bytes(), len(days), w.Error()
}
