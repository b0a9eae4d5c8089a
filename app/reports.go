package app

import (
	"context"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// RequestReport queues a report of the caller's shop for the report
// worker; the domain validates cmd. With InTx it is appended in the
// caller's transaction.
func (a *App) RequestReport(ctx context.Context, by Caller, cmd domain.RequestReportCommand, opts ...Option) (Result[*domain.Report], error) {
	cmd.Shop = by.Shop
	return Update(ctx, a.store, domain.ReportStream(cmd.ReportID),
		func([]domain.Event) (*domain.Report, error) { return &domain.Report{}, nil },
		func(*domain.Report) ([]domain.Event, error) { return domain.RequestReport(cmd) },
		append([]Option{by.by(), Expect(eventstore.NoStream)}, opts...)...)
}
