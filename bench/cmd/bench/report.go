package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/bench/load"
)

// Report is everything one `make bench` run measured.
type Report struct {
	Date    string   `json:"date"`
	Short   bool     `json:"short"`
	Machine Machine  `json:"machine"`
	Rows    []Row    `json:"rows"`
	Goals   []Goal   `json:"goals"`
	Notes   []string `json:"notes"`
	// Sweep is scenario 2's table, one row per rate, in Markdown.
	Sweep    string    `json:"sweep,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
}

// Row is one measurement next to its baseline from the same run.
type Row struct {
	Scenario string  `json:"scenario"`
	Subject  Figure  `json:"subject"`
	Baseline Figure  `json:"baseline"`
	Ratio    float64 `json:"ratio"` // subject over baseline; see RatioOf
	RatioOf  string  `json:"ratio_of"`
}

// Figure is a latency summary or, when Unit is set, a single value.
type Figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value,omitempty"`
	Unit  string  `json:"unit,omitempty"`
	*load.Summary
}

// Goal is one of the targets and whether this run met it.
type Goal struct {
	Scenario string `json:"scenario"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

// Machine describes where the run happened; LoadAvg is sampled before and
// after, because other work on the machine skews every figure.
type Machine struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	MemoryMB   int    `json:"memory_mb"`
	Go         string `json:"go"`
	Postgres   string `json:"postgres"`
	Redis      string `json:"redis"`
	SyncCommit string `json:"synchronous_commit"`
	// Autovacuum off means no table gets statistics as it grows from empty,
	// so plans made early in a run stay as they were.
	Autovacuum    string   `json:"autovacuum"`
	LoadAvgBefore string   `json:"load_avg_before"`
	LoadAvgAfter  string   `json:"load_avg_after"`
	Settings      []string `json:"settings,omitempty"`
}

func describeMachine(ctx context.Context, pool *pgxpool.Pool, rdb redis.UniversalClient) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), LoadAvgBefore: loadAvg()}
	m.CPU = procField("/proc/cpuinfo", "model name")
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		var n int
		fmt.Sscanf(kb, "%d", &n)
		m.MemoryMB = n / 1024
	}
	_ = pool.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('synchronous_commit'),
		current_setting('autovacuum')`).Scan(&m.Postgres, &m.SyncCommit, &m.Autovacuum)
	if info, err := rdb.Info(ctx, "server").Result(); err == nil {
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
				m.Redis = v
			}
		}
	}
	return m
}

// procField is the value of the first "name : value" line of a /proc file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// write stores the report as <dir>/<date>.json and <date>.md; a short run
// as <date>-short.*, so it never replaces a real run's results.
func (r *Report) write(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	base := filepath.Join(dir, r.Date)
	if r.Short {
		base += "-short"
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(base+".json", append(js, '\n'), 0o644); err != nil {
		return "", err
	}
	return base + ".md", os.WriteFile(base+".md", []byte(r.markdown()), 0o644)
}

func (r *Report) markdown() string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "# Ordermill benchmarks, %s\n\n", r.Date)
	if r.Short {
		b.WriteString("**Short mode (BENCH_SHORT=1): tiny loads that only prove the harness runs; the figures mean nothing.**\n\n")
	}
	fmt.Fprintf(&b, "Produced by `make bench` (`go run ./bench/cmd/bench`) in %s.\n\n", r.Finished.Sub(r.Started).Round(time.Second))
	b.WriteString("## Machine\n\n")
	fmt.Fprintf(&b, "- CPU: %s, %d cores, %d MB RAM\n", m.CPU, m.Cores, m.MemoryMB)
	fmt.Fprintf(&b, "- PostgreSQL %s (synchronous_commit=%s, autovacuum=%s), Redis %s, %s\n", m.Postgres, m.SyncCommit, m.Autovacuum, m.Redis, m.Go)
	fmt.Fprintf(&b, "- Load average (1, 5, 15 min) before: %s; after: %s\n", m.LoadAvgBefore, m.LoadAvgAfter)
	for _, s := range m.Settings {
		fmt.Fprintf(&b, "- %s\n", s)
	}
	b.WriteString("\n## Goals\n\n| # | goal | measured | met |\n|---|---|---|---|\n")
	for _, g := range r.Goals {
		met := "**no**"
		if g.Met {
			met = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", g.Scenario, g.Target, g.Measured, met)
	}
	b.WriteString("\n## Figures\n\nLatencies in ms (open loop: from each request's scheduled send time). " +
		"Ratio: subject over its baseline, measured back to back in this run.\n\n")
	b.WriteString("| # | subject | offered/s | done/s | median | p95 | p99 | max | errors | baseline | done/s | median | p99 | ratio |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", row.Scenario, row.Subject.cells(true),
			row.Baseline.Name, row.Baseline.cells(false), fmtRatio(row))
	}
	if r.Sweep != "" {
		b.WriteString("\n## Scenario 2: CPU per webhook by rate\n\n" + r.Sweep + "\n")
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

func fmtRatio(row Row) string {
	if row.Ratio == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f (%s)", row.Ratio, row.RatioOf)
}

// cells renders a figure's table cells: the full set for a subject, the
// throughput, median and p99 for a baseline.
func (f Figure) cells(full bool) string {
	num := func(v float64) string { return fmt.Sprintf("%.2f", v) }
	if f.Summary == nil && f.Unit == "" {
		return "– | – | –"
	}
	if f.Summary == nil {
		v := fmt.Sprintf("%.0f %s", f.Value, f.Unit)
		if full {
			return fmt.Sprintf("%s | – | %s | – | – | – | – | –", f.Name, v)
		}
		return fmt.Sprintf("%s | – | –", v)
	}
	s := f.Summary
	errs := fmt.Sprint(s.Errors)
	if s.FirstError != "" {
		errs += " (" + strings.ReplaceAll(s.FirstError, "|", "/") + ")"
	}
	offered := "max"
	if s.Offered > 0 {
		offered = fmt.Sprintf("%.0f", s.Offered)
	}
	// Visibility latencies are observed, not sent: they have no rate.
	done := "–"
	if s.Throughput > 0 {
		done = fmt.Sprintf("%.0f", s.Throughput)
	}
	if full {
		return fmt.Sprintf("%s | %s | %s | %s | %s | %s | %s | %s", f.Name, offered, done,
			num(s.MedianMS), num(s.P95MS), num(s.P99MS), num(s.MaxMS), errs)
	}
	return fmt.Sprintf("%s | %s | %s", done, num(s.MedianMS), num(s.P99MS))
}
