// Command bench measures Ordermill against the limits of the machine it runs
// on: every figure is taken next to a baseline doing the same work with
// nothing but the database or Redis client, in the same run, so that noise
// from the machine shows in both. It writes bench/results/<date>.md and .json.
//
//	go run ./bench/cmd/bench                  # every scenario (make bench)
//	BENCH_SHORT=1 go run ./bench/cmd/bench    # seconds, figures meaningless
//	go run ./bench/cmd/bench -only 1,6 -out scratch
//	go run ./bench/cmd/bench -only 3 -cpuprofile relay.prof  # then go tool pprof
//	go run ./bench/cmd/bench -only 1 -server-cpuprofile capture.prof  # the server, saturated
//	go run ./bench/cmd/bench -only 2 -rates 50,100 -cpuprofile low.prof # part of the sweep
//
// Each scenario runs on its own fresh database and Redis key prefix on the
// servers of ORDERMILL_DATABASE_URL and ORDERMILL_REDIS_URL. Scenarios 1 and
// 6 run the server as a subprocess (built from the working tree), scenario 2
// runs the platform in a child process (this executable started again), so
// that only the platform's CPU is counted; the others run it in this
// process. Run it from the repository root.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ordermill/ordermill/bench/load"
	"github.com/ordermill/ordermill/internal/config"
)

// sizes are one mode's loads.
type sizes struct {
	captureRates  []float64
	phase         time.Duration // length of each fixed-rate phase
	workers       int           // closed-loop senders for capacity runs
	e2eRates      []float64
	readRates     [3]float64 // cached GET, uncached GET, list
	relayEvents   int
	rebuildOrders int // 4 events each
	capacityPhase time.Duration
	idlePhase     time.Duration // how long an idle platform's CPU is counted
}

var (
	full = sizes{
		captureRates: []float64{250, 500, 1000, 2000}, phase: 10 * time.Second, workers: 32,
		e2eRates: []float64{50, 100, 250, 500, 1000}, readRates: [3]float64{1000, 1000, 250}, relayEvents: 50_000,
		rebuildOrders: 250_000, capacityPhase: 10 * time.Second, idlePhase: 30 * time.Second,
	}
	short = sizes{
		captureRates: []float64{50, 100}, phase: time.Second, workers: 4,
		e2eRates: []float64{50, 100, 250, 500, 1000}, readRates: [3]float64{50, 50, 20}, relayEvents: 1_000,
		rebuildOrders: 500, capacityPhase: time.Second, idlePhase: 2 * time.Second,
	}
)

type bench struct {
	base config.Config
	// serverProfile, when set, is where scenario 1 writes a CPU profile of
	// the server during its saturated phase.
	serverProfile string
	// childProfile, when set, is where scenario 2's child processes write
	// CPU profiles of their runs, with their names appended.
	childProfile string
	size         sizes
	report       *Report
	bin          string // the server binary for subprocess scenarios
	tmp          string
}

func main() {
	runIfChild()
	out := flag.String("out", "bench/results", "directory for <date>.md and <date>.json")
	only := flag.String("only", "", "comma-separated scenario numbers to run (default: all)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of this process to this file, and of scenario 2's platform and capture processes to this file + \".platform\" and \".capture\"")
	serverProfile := flag.String("server-cpuprofile", "", "write a CPU profile of the capture server during scenario 1's saturated phase to this file")
	rates := flag.String("rates", "", "comma-separated webhooks/s of scenario 2's sweep (default: 50,100,250,500,1000)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	path, err := run(ctx, os.Getenv("BENCH_SHORT") != "", *out, *only, *serverProfile, *cpuProfile, *rates)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
	fmt.Println("wrote", path)
}

func run(ctx context.Context, isShort bool, out, only, serverProfile, childProfile, rates string) (string, error) {
	base, err := config.Load()
	if err != nil {
		return "", err
	}
	b := &bench{base: base, size: full, serverProfile: serverProfile, childProfile: childProfile,
		report: &Report{Short: isShort, Started: time.Now()}}
	if isShort {
		b.size = short
	}
	if rates != "" {
		b.size.e2eRates = nil
		for _, f := range strings.Split(rates, ",") {
			r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || r <= 0 {
				return "", fmt.Errorf("-rates: %q is not a rate", f)
			}
			b.size.e2eRates = append(b.size.e2eRates, r)
		}
	}
	b.report.Date = b.report.Started.Format("2006-01-02")
	if b.tmp, err = os.MkdirTemp("", "ordermill-bench"); err != nil {
		return "", err
	}
	defer os.RemoveAll(b.tmp)
	scenarios := []struct {
		id  string
		run func(context.Context) error
	}{
		{"1", b.capture}, // and 6: memory is read from the capture run's server
		{"2", b.endToEnd},
		{"3", b.relay},
		{"4", b.reads},
		{"5", b.rebuild},
	}
	want := strings.Split(only, ",")
	for _, s := range scenarios {
		if only != "" && !slices.Contains(want, s.id) && !(s.id == "1" && slices.Contains(want, "6")) {
			continue
		}
		fmt.Printf("== scenario %s\n", s.id)
		start := time.Now()
		if err := s.run(ctx); err != nil {
			return "", fmt.Errorf("scenario %s: %w", s.id, err)
		}
		fmt.Printf("   done in %s\n", time.Since(start).Round(time.Second))
	}
	b.report.Machine.LoadAvgAfter = loadAvg()
	b.report.Finished = time.Now()
	return b.report.write(out)
}

// open starts a scenario's environment and, the first time, describes the
// machine from it.
func (b *bench) open(ctx context.Context) (*env, error) { return b.openWith(ctx, b.base) }

// openWith is open on other servers than the configured ones.
func (b *bench) openWith(ctx context.Context, base config.Config) (*env, error) {
	e, err := newEnv(ctx, base)
	if err != nil {
		return nil, err
	}
	if b.report.Machine.Cores == 0 {
		b.report.Machine = describeMachine(ctx, e.p.Pool, e.p.Redis)
		b.report.Machine.Settings = append(b.report.Machine.Settings,
			fmt.Sprintf("pgx pool: %d connections per process (internal/database's default)", e.p.Pool.Config().MaxConns))
	}
	return e, nil
}

func (b *bench) row(scenario string, subject, baseline Figure, ratio float64, ratioOf string) {
	r := Row{Scenario: scenario, Subject: subject, Baseline: baseline, Ratio: ratio, RatioOf: ratioOf}
	b.report.Rows = append(b.report.Rows, r)
	fmt.Printf("   %-40s %s\n", subject.Name, subject.line())
	if baseline.Summary != nil || baseline.Unit != "" {
		fmt.Printf("   %-40s %s\n", baseline.Name, baseline.line())
	}
}

func (b *bench) goal(scenario, target, measured string, met bool) {
	b.report.Goals = append(b.report.Goals, Goal{Scenario: scenario, Target: target, Measured: measured, Met: met})
	fmt.Printf("   goal %s: %s (met: %v)\n", target, measured, met)
}

func (b *bench) note(format string, args ...any) {
	b.report.Notes = append(b.report.Notes, fmt.Sprintf(format, args...))
}

// line is a figure on one console line.
func (f Figure) line() string {
	if f.Summary == nil {
		return strings.TrimSpace(fmt.Sprintf("%.1f %s", f.Value, f.Unit))
	}
	s := f.Summary
	return fmt.Sprintf("%6.0f/s  median %6.2f  p95 %6.2f  p99 %7.2f  max %7.2f ms  errors %d %s",
		s.Throughput, s.MedianMS, s.P95MS, s.P99MS, s.MaxMS, s.Errors, s.FirstError)
}

func latency(name string, s load.Summary) Figure { return Figure{Name: name, Summary: &s} }

func value(name string, v float64, unit string) Figure {
	return Figure{Name: name, Value: v, Unit: unit}
}

// ratio is a over b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// httpClient keeps enough idle connections for the highest rate: opening a
// connection per request would measure the kernel's TCP setup instead.
func httpClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 2048, MaxIdleConnsPerHost: 2048, IdleConnTimeout: time.Minute,
	}}
}
