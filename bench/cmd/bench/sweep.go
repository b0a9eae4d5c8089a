package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ordermill/ordermill/bench/load"
	"github.com/ordermill/ordermill/internal/config"
)

// cpuGoal is the whole pipeline's CPU budget per webhook at every rate of
// the sweep up to 1,000/s, and idleGoal an idle platform's share of a core.
const (
	cpuGoal  = 3.0  // ms per webhook
	idleGoal = 0.02 // of one core
)

// sweepRow is one rate of scenario 2's sweep.
type sweepRow struct {
	rate               float64
	pipeline, capture  cost
	ackP99, visibleP99 float64
	missing            int // errors and orders never visible
}

func (r sweepRow) String() string {
	return fmt.Sprintf("%5.0f/s  CPU/webhook %s (capture alone %s)  ack p99 %.1f ms  ack→visible p99 %.1f ms  failed %d",
		r.rate, r.pipeline.perWebhook(r.pipeline.total()), r.capture.perWebhook(r.capture.total()), r.ackP99, r.visibleP99, r.missing)
}

// captureOnly is capture alone (the api role, nothing consuming) on a
// database of its own, measured at each rate just before the pipeline.
type captureOnly struct {
	e      *env
	srv    *server
	client *http.Client
	hooks  *webhooks
	meter  *costMeter
}

func (b *bench) openCapture(ctx context.Context, base config.Config, redisPID int) (*captureOnly, error) {
	e, err := b.openWith(ctx, base)
	if err != nil {
		return nil, err
	}
	srv, err := b.startChild(ctx, e, childCapture)
	if err != nil {
		e.close()
		return nil, err
	}
	return &captureOnly{e: e, srv: srv, client: httpClient(), hooks: newWebhooks(),
		meter: newCostMeter(ctx, e.p.Pool, e.dbName, redisPID, srv.cmd.Process.Pid)}, nil
}

// cost is what capturing webhooks under open costs.
func (c *captureOnly) cost(ctx context.Context, open load.Open) (cost, error) {
	return c.meter.measure(ctx, func() (int64, error) {
		s := open.Run(ctx, func(ctx context.Context, _ int) error {
			return post(ctx, c.client, c.srv.url, c.hooks.make())
		})
		return int64(s.Count), nil
	})
}

func (c *captureOnly) close() {
	c.srv.stop()
	c.e.close()
}

// idleCost is what the running platform spends with nothing to do, after
// a few seconds to settle.
func (b *bench) idleCost(ctx context.Context, meter *costMeter) (cost, error) {
	time.Sleep(min(5*time.Second, b.size.idlePhase))
	return meter.measure(ctx, func() (int64, error) {
		select {
		case <-time.After(b.size.idlePhase):
		case <-ctx.Done():
		}
		return 0, ctx.Err()
	})
}

// sweepGoals records the sweep's goals and its table.
func (b *bench) sweepGoals(rows []sweepRow, idle cost) {
	var (
		measured []string
		met      = len(rows) > 0
	)
	table := []string{"| webhooks/s | CPU per webhook | Ordermill process | Postgres backends | Redis | transactions | statements | wake-ups " +
		"| capture alone | capture alone wake-ups | ack p99 | ack → visible p99 | failed | load generator (not counted) |",
		"|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"}
	for _, r := range rows {
		p := r.pipeline
		stmts := "–"
		if p.statementsCounted {
			stmts = fmt.Sprintf("%.1f", p.countPerWebhook(p.statements))
		}
		table = append(table, fmt.Sprintf("| %.0f | %s | %s | %s | %s | %.1f | %s | %.0f | %s | %.0f | %.1f ms | %.1f ms | %d | %s |",
			r.rate, p.perWebhook(p.total()), p.perWebhook(p.platform), p.perWebhook(p.pg), p.perWebhook(p.redis),
			p.countPerWebhook(p.xacts), stmts, p.countPerWebhook(p.totalWakeups()), r.capture.perWebhook(r.capture.total()),
			r.capture.countPerWebhook(r.capture.totalWakeups()), r.ackP99, r.visibleP99, r.missing, p.perWebhook(p.load)))
		measured = append(measured, fmt.Sprintf("%.0f/s %s", r.rate, p.perWebhook(p.total())))
		if r.rate <= 1000 && (p.webhooks == 0 || 1e3*p.total()/float64(p.webhooks) > cpuGoal || r.missing > 0) {
			met = false
		}
	}
	b.report.Sweep = strings.Join(table, "\n")
	fmt.Println(b.report.Sweep)
	b.goal("2", fmt.Sprintf("whole pipeline ≤ %.0f ms CPU per webhook at every rate from 50 to 1,000 webhooks/s", cpuGoal),
		strings.Join(measured, ", "), met)
	share := 0.0
	if idle.seconds > 0 {
		share = idle.total() / idle.seconds
	}
	b.goal("2", fmt.Sprintf("an idle platform uses < %.0f%% of a core", 100*idleGoal),
		fmt.Sprintf("%.2f%% over %.0f s (Ordermill process %.2f%%, Postgres backends %.2f%%, Redis %.2f%%)", 100*share, idle.seconds,
			100*idle.platform/max(idle.seconds, 1e-9), 100*idle.pg/max(idle.seconds, 1e-9), 100*idle.redis/max(idle.seconds, 1e-9)),
		share < idleGoal)
}
