package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// Reports maintains reports_view: each report's request and status.
type Reports struct{}

// NewReports returns the reports projector.
func NewReports() *Reports { return &Reports{} }

// Name implements Projector.
func (*Reports) Name() string { return "reports" }

// Categories implements Projector.
func (*Reports) Categories() []string { return []string{"report"} }

// Tables implements Projector.
func (*Reports) Tables() []string { return []string{"reports_view"} }

// PersonalData implements Projector: reports record who asked (a staff user), not customers.
func (*Reports) PersonalData() []PersonalData { return nil }

// Apply implements Projector.
func (*Reports) Apply(ctx context.Context, tx pgx.Tx, e eventstore.Event) error {
	id, err := streamUUID(e.StreamID)
	if err != nil {
		return err
	}
	d, err := eventstore.DecodeEvent(e.Type, e.Data)
	if err != nil {
		return err
	}
	switch d := d.(type) {
	case domain.ReportRequested:
		_, err = tx.Exec(ctx, `INSERT INTO reports_view (id, shop, kind, from_date, to_date, status, requested_by, requested_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			id, d.Shop, d.Kind, d.From, d.To, domain.StatusRequested, d.RequestedBy, d.RequestedAt)
	case domain.ReportCompleted:
		_, err = tx.Exec(ctx, `UPDATE reports_view SET status = $2, rows = $3, bytes = $4, finished_at = $5 WHERE id = $1`,
			id, domain.StatusCompleted, d.Rows, d.Bytes, d.CompletedAt)
	case domain.ReportFailed:
		_, err = tx.Exec(ctx, `UPDATE reports_view SET status = $2, reason = $3, finished_at = $4 WHERE id = $1`,
			id, domain.StatusFailed, d.Reason, d.FailedAt)
	}
	return err
}
