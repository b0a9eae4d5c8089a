package app

import (
	"context"
	"time"
)

// Reconciliation is what the API shows of a shop's reconciliation with
// Shopify: the workers' reconciler, handed in by the platform.
type Reconciliation interface {
	Progress(ctx context.Context, shop string) (p ReconcileProgress, found bool, err error)
}

// ReconcileProgress is a shop's reconciliation state.
type ReconcileProgress struct {
	Shop              string     `json:"shop"`
	UpdatedSince      time.Time  `json:"updated_since"`
	LastRunAt         *time.Time `json:"last_run_at"`
	LastError         *string    `json:"last_error"`
	OrdersRead        int64      `json:"orders_read"`
	SnapshotsAppended int64      `json:"snapshots_appended"`
	BackfillStartedAt *time.Time `json:"backfill_started_at"`
	BackfillDoneAt    *time.Time `json:"backfill_done_at"`
	// The backfill's progress: orders and pages read so far in its current
	// run, and Shopify's count of what there is to read (nil until its run
	// asked; at least that many when not exact).
	BackfillOrdersRead  int64  `json:"backfill_orders_read"`
	BackfillPages       int    `json:"backfill_pages"`
	BackfillOrdersTotal *int64 `json:"backfill_orders_total"`
	BackfillTotalExact  bool   `json:"backfill_total_exact"`
	// Running is true while a run holds the shop.
	Running bool `json:"running"`
}
