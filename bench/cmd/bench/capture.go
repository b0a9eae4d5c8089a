package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/ordermill/ordermill/bench/load"
)

// capacityRounds is how many rounds of each the saturated phase alternates.
const capacityRounds = 5

// capture is scenario 1, webhook capture against the Postgres limit, and
// scenario 6, the server's memory under that load. The server runs only the
// api role as a subprocess: capture touches Postgres once and nothing else,
// and the baseline writes the same rows through a pool of the same size.
func (b *bench) capture(ctx context.Context) error {
	e, err := b.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	if b.bin == "" {
		if b.bin, err = serverBinary(ctx, b.tmp); err != nil {
			return err
		}
	}
	srv, err := startServer(ctx, b.bin, e, "api")
	if err != nil {
		return err
	}
	defer srv.stop()
	client := httpClient()
	hooks := newWebhooks()
	deliver := func(ctx context.Context, _ int) error { return post(ctx, client, srv.url, hooks.make()) }
	insert := func(ctx context.Context, _ int) error { return insertRows(ctx, e.p.Pool, hooks.make()) }
	// Warm up both paths (connections, caches), unmeasured.
	load.Closed{Workers: b.size.workers, N: 200}.Run(ctx, deliver)
	load.Closed{Workers: b.size.workers, N: 200}.Run(ctx, insert)
	idle, err := srv.memoryMB("VmRSS")
	if err != nil {
		return err
	}

	var (
		at1000, base1000 load.Summary
		peaks            []string
	)
	for _, rate := range b.size.captureRates {
		open := load.Open{Rate: rate, Duration: b.size.phase}
		subject := open.Run(ctx, deliver)
		peak, err := srv.memoryMB("VmHWM")
		if err != nil {
			return err
		}
		peaks = append(peaks, fmt.Sprintf("%.0f MB after %.0f/s", peak, rate))
		baseline := open.Run(ctx, insert)
		b.row("1", latency(fmt.Sprintf("capture at %.0f/s", rate), subject), latency("pgx INSERT, same rows", baseline),
			ratio(subject.Throughput, baseline.Throughput), "throughput")
		if rate == 1000 {
			at1000, base1000 = subject, baseline
		}
	}
	// Capacity alternates short rounds of the two, so that a slow spell of
	// the machine (this one's throughput swings by half between minutes)
	// falls on both rather than on whichever ran through it.
	round := load.Closed{Workers: b.size.workers, Duration: b.size.capacityPhase / capacityRounds}
	profiled := make(chan error, 1)
	if b.serverProfile != "" {
		go func() { profiled <- srv.cpuProfile(ctx, 2*b.size.capacityPhase, b.serverProfile) }()
	} else {
		profiled <- nil
	}
	var (
		subjects, baselines []load.Summary
		cpu                 float64
	)
	for range capacityRounds {
		cpuBefore, err := srv.cpuSeconds()
		if err != nil {
			return err
		}
		subjects = append(subjects, round.Run(ctx, deliver))
		cpuAfter, err := srv.cpuSeconds()
		if err != nil {
			return err
		}
		cpu += cpuAfter - cpuBefore
		baselines = append(baselines, round.Run(ctx, insert))
	}
	if err := <-profiled; err != nil {
		return err
	}
	subject, baseline := load.Merge(subjects...), load.Merge(baselines...)
	b.note("Scenario 1, saturated: %d rounds of %s each, capture and INSERT alternating; throughput over all rounds, "+
		"each percentile the median of the rounds'. The server used %.1f CPU-seconds for %d webhooks (%.0f µs each; "+
		"the machine has %d cores shared with Postgres, Redis and the load generator).", capacityRounds, round.Duration,
		cpu, subject.Count, 1e6*cpu/float64(max(subject.Count, 1)), b.report.Machine.Cores)
	r := ratio(subject.Throughput, baseline.Throughput)
	b.row("1", latency(fmt.Sprintf("capture saturated (%d senders)", b.size.workers), subject),
		latency(fmt.Sprintf("pgx INSERT (%d senders)", b.size.workers), baseline), r, "throughput")
	b.goal("1", "capture ≥ 70% of the pgx INSERT throughput", fmt.Sprintf("%.0f%% (%.0f vs %.0f/s)",
		100*r, subject.Throughput, baseline.Throughput), r >= 0.7)
	if at1000.Offered > 0 {
		b.goal("1", "p99 ack < 25 ms at 1000 webhooks/s", fmt.Sprintf("p99 %.1f ms (baseline %.1f ms), %d errors",
			at1000.P99MS, base1000.P99MS, at1000.Errors), at1000.P99MS < 25 && at1000.Errors == 0)
	}

	peak, err := srv.memoryMB("VmHWM")
	if err != nil {
		return err
	}
	b.note("Scenario 6: the server's peak RSS (VmHWM) grew to %s. Past capacity the open loop keeps up to 10,000 "+
		"requests outstanding, each a connection and a goroutine in the server.", strings.Join(peaks, ", "))
	b.row("6", value("server peak RSS (VmHWM) under scenario 1", peak, "MB"),
		value("same server idle after start and warm-up (VmRSS)", idle, "MB"), ratio(peak, idle), "memory")
	b.note("Scenario 1 and 6: `ordermill serve --roles api` as a subprocess; the baseline uses a pgx pool of the " +
		"same size in the bench process. " +
		"Every delivery names a new customer, so capture stores two rows: the customer's data key and the webhook.received " +
		"event, its body sealed under that key. The baseline writes the same two rows (the body unsealed) with two INSERTs " +
		"in one round trip and one transaction; capture makes the keys of a group of deliveries in one statement and " +
		"then appends their events in another.")
	return nil
}
