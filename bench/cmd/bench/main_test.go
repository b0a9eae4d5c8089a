package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be scenario 2's platform process, which the
// bench starts by running its own executable again.
func TestMain(m *testing.M) {
	runIfChild()
	os.Exit(m.Run())
}

// TestShortRun runs every scenario in short mode, as BENCH_SHORT=1 `make
// bench` does, so the harness cannot rot. It checks that each scenario
// reported, not what it measured.
func TestShortRun(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL and Redis")
	}
	// The server subprocess is built from the repository root.
	t.Chdir("../../..")
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	md, err := run(ctx, true, out, "", "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(strings.TrimSuffix(md, ".md") + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	scenarios := map[string]int{}
	for _, row := range r.Rows {
		scenarios[row.Scenario]++
		if s := row.Subject.Summary; s != nil && (s.Count == 0 || s.Errors > 0) {
			t.Errorf("scenario %s %q: %d ok, %d errors (%s)", row.Scenario, row.Subject.Name, s.Count, s.Errors, s.FirstError)
		}
	}
	for _, s := range []string{"1", "2", "3", "4", "5", "6"} {
		if scenarios[s] == 0 {
			t.Errorf("scenario %s reported nothing", s)
		}
	}
	if !r.Short || r.Machine.Cores == 0 || r.Machine.Postgres == "" || len(r.Goals) == 0 {
		t.Errorf("report incomplete: short %v, machine %+v, %d goals", r.Short, r.Machine, len(r.Goals))
	}
	// Scenario 2's sweep covers every rate, briefly.
	for _, rate := range []string{"50", "100", "250", "500", "1000"} {
		if !strings.Contains(r.Sweep, "\n| "+rate+" | ") {
			t.Errorf("the sweep has no row for %s webhooks/s:\n%s", rate, r.Sweep)
		}
	}
	// Each rate's CPU by process, statements, wake-ups, latencies and the
	// same run's capture alone.
	for _, column := range []string{"CPU per webhook", "Ordermill process", "Postgres backends", "Redis", "statements",
		"wake-ups", "capture alone", "ack p99", "ack → visible p99"} {
		if !strings.Contains(r.Sweep, "| "+column+" |") {
			t.Errorf("the sweep has no column %q:\n%s", column, r.Sweep)
		}
	}
	// And the cost of a round trip that wakes idle processes, against a busy one's.
	if !strings.Contains(strings.Join(r.Notes, "\n"), "the cost of waking: a Redis PING round trip costs") {
		t.Errorf("scenario 2 did not measure the cost of waking:\n%s", strings.Join(r.Notes, "\n"))
	}
	if _, err := os.Stat(filepath.Join(out, r.Date+"-short.md")); err != nil {
		t.Error(err)
	}
}
