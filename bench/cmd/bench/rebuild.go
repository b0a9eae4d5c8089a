package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ordermill/ordermill/projections"
)

// rebuild is scenario 5: orders_view rebuilt from the events table, in place
// (projections.Rebuild) and into shadow tables (what `ordermill-replay
// replay` does), against a sequential scan of the same table as the floor.
func (b *bench) rebuild(ctx context.Context) error {
	e, err := b.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	start := time.Now()
	n, err := seedOrders(ctx, e.p.Pool, b.size.rebuildOrders, 4)
	if err != nil {
		return err
	}
	seeded := time.Since(start)
	// Fresh statistics and visibility map, as a long-lived table would have.
	if _, err := e.p.Pool.Exec(ctx, `VACUUM ANALYZE events`); err != nil {
		return err
	}
	// A scan before and after each rebuild, each rebuild measured against
	// the two around it: a slow spell of the machine then weighs on both.
	before, err := scanRate(ctx, e)
	if err != nil {
		return err
	}
	shadow, err := projections.OpenShadow(ctx, e.p.Pool)
	if err != nil {
		return err
	}
	defer shadow.Close()
	for _, r := range []struct {
		name    string
		rebuild func() (int64, error)
	}{
		{"rebuild orders_view in place", func() (int64, error) {
			return projections.Rebuild(ctx, e.p.Store, projections.NewOrders(nil, ""), nil)
		}},
		{"rebuild orders_view into shadow tables", func() (int64, error) {
			res, err := shadow.Rebuild(ctx, projections.NewOrders(nil, ""), nil)
			return res.Events, err
		}},
	} {
		var cpu cpuUse
		start := time.Now()
		err := cpu.measure(func() (int64, error) {
			got, err := r.rebuild()
			if err == nil && got != n {
				err = fmt.Errorf("rebuilt from %d events, want %d", got, n)
			}
			return got, err
		})
		if err != nil {
			return err
		}
		rate := float64(n) / time.Since(start).Seconds()
		b.note("Scenario 5, %s: %s.", r.name, cpu)
		after, err := scanRate(ctx, e)
		if err != nil {
			return err
		}
		// The rate of the two scans together: n events in the sum of their times.
		scan := 2 / (1/before + 1/after)
		before = after
		q := ratio(rate, scan)
		b.row("5", value(r.name, rate, "events/s"), value("SELECT * FROM events, all rows read, before and after", scan, "events/s"),
			q, "throughput")
		b.goal("5", r.name+": ≥ 25% of scan speed and ≥ 50,000 events/s",
			fmt.Sprintf("%.0f%% of scan, %.0f events/s", 100*q, rate), q >= 0.25 && rate >= 50_000)
	}
	b.note("Scenario 5: %d events (%d orders placed, paid, shipped, refunded) seeded with INSERT … SELECT in %s "+
		"(%.0f events/s, hash-chain trigger included).", n, b.size.rebuildOrders, seeded.Round(time.Second),
		float64(n)/seeded.Seconds())
	return nil
}

// scanRate reads every row of the events table once, as fast as pgx can.
func scanRate(ctx context.Context, e *env) (float64, error) {
	start := time.Now()
	rows, err := e.p.Pool.Query(ctx, `SELECT * FROM events`)
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		_ = rows.RawValues()
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
