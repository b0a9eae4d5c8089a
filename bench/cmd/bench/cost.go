package main

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// What a span of work cost, counted per process rather than machine-wide, so
// that other work on a shared machine does not land in the figures: the
// platform's process (Ordermill's roles, a child of the bench), the Postgres
// backends it has connected to the scenario's own database, and a
// redis-server the bench starts for the scenario. The load generator, the
// watcher and their backends are counted apart and not in the total.
// Postgres's shared background processes (WAL writer, checkpointer) serve
// every database and are left out.

// cost is one span's CPU in seconds per process group, and the database's
// transactions and statements.
type cost struct {
	webhooks                  int64
	platform, pg, redis, load float64
	xacts, statements         int64
	statementsCounted         bool
	seconds                   float64 // wall time of the span, statsDelay included
	backends, newBackend      int
	// wakeups counts, per process group, the times a thread went to sleep
	// and had to be woken (voluntary context switches): what the code does,
	// where CPU time also holds what the machine charges for it. At a low
	// rate each one costs far more CPU than the work it wakes for (wake.go).
	wakeups struct{ platform, pg, redis int64 }
	// top are the statements that took the most time in the span, most first.
	top []statementCount
}

// statementCount is how often a statement ran in a span and the time
// Postgres spent planning and executing it.
type statementCount struct {
	query string
	calls int64
	ms    float64
}

// topStatements is how many of a span's statements cost.top keeps.
const topStatements = 8

// topPerWebhook lists c's costliest statements, with their calls and time per webhook.
func (c cost) topPerWebhook() string {
	parts := make([]string, len(c.top))
	for i, s := range c.top {
		parts[i] = fmt.Sprintf("%.2f × %.3f ms %s", c.countPerWebhook(s.calls), s.ms/float64(max(c.webhooks, 1)), s.query)
	}
	return strings.Join(parts, "; ")
}

// perWebhook formats seconds per webhook in ms.
func (c cost) perWebhook(s float64) string {
	if c.webhooks == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f ms", 1e3*s/float64(c.webhooks))
}

// total is the pipeline's CPU: everything but the load.
func (c cost) total() float64 { return c.platform + c.pg + c.redis }

// totalWakeups is the pipeline's wake-ups: everything but the load.
func (c cost) totalWakeups() int64 { return c.wakeups.platform + c.wakeups.pg + c.wakeups.redis }

// String is the cost per webhook by process.
func (c cost) String() string {
	s := fmt.Sprintf("%s per webhook (Ordermill process %s, Postgres backends %s, Redis %s; not counted: load generator and watcher %s); %.1f transactions",
		c.perWebhook(c.total()), c.perWebhook(c.platform), c.perWebhook(c.pg), c.perWebhook(c.redis), c.perWebhook(c.load),
		c.countPerWebhook(c.xacts))
	if c.statementsCounted {
		s += fmt.Sprintf(" and %.1f statements", c.countPerWebhook(c.statements))
	}
	w := c.wakeups
	return s + fmt.Sprintf(" per webhook; %.0f wake-ups per webhook (Ordermill process %.0f, Postgres backends %.0f, Redis %.0f)",
		c.countPerWebhook(c.totalWakeups()), c.countPerWebhook(w.platform), c.countPerWebhook(w.pg), c.countPerWebhook(w.redis))
}

// countPerWebhook is a count (transactions, statements, wake-ups) per webhook.
func (c cost) countPerWebhook(n int64) float64 { return float64(n) / float64(max(c.webhooks, 1)) }

// costMeter measures spans of work on one database.
type costMeter struct {
	pool     *pgxpool.Pool
	db       string
	redisPID int
	// platformPID is the Ordermill process measured.
	platformPID int
	// statements is whether pg_stat_statements answers (it needs
	// shared_preload_libraries): only then are statements counted.
	statements bool
}

func newCostMeter(ctx context.Context, pool *pgxpool.Pool, db string, redisPID, platformPID int) *costMeter {
	m := &costMeter{pool: pool, db: db, redisPID: redisPID, platformPID: platformPID}
	if _, err := pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err == nil {
		var n int64
		m.statements = pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_statements`).Scan(&n) == nil
	}
	return m
}

type costSnapshot struct {
	at                     time.Time
	backends, loadBackends map[int]float64
	platform, redis, load  float64
	// Wake-ups of the platform's process, its backends and Redis.
	platformWakeups, redisWakeups int64
	backendWakeups                map[int]int64
	xacts, statements             int64
	byQuery                       map[int64]statementCount
}

func (m *costMeter) snapshot(ctx context.Context) (costSnapshot, error) {
	s := costSnapshot{at: time.Now(), backends: map[int]float64{}, loadBackends: map[int]float64{},
		backendWakeups: map[int]int64{}}
	rows, err := m.pool.Query(ctx, `SELECT pid, application_name = $2 FROM pg_stat_activity WHERE datname = $1`, m.db, loadApp)
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var (
			pid  int
			load bool
		)
		if err := rows.Scan(&pid, &load); err != nil {
			return s, err
		}
		if secs, ok := processCPU(pid); ok && load {
			s.loadBackends[pid] = secs
		} else if ok {
			s.backends[pid] = secs
			s.backendWakeups[pid], _ = processWakeups(pid)
		}
	}
	if err := rows.Err(); err != nil {
		return s, err
	}
	s.platform, _ = processCPU(m.platformPID)
	s.platformWakeups, _ = processWakeups(m.platformPID)
	s.load, _ = processCPU(os.Getpid())
	if m.redisPID > 0 {
		s.redis, _ = processCPU(m.redisPID)
		s.redisWakeups, _ = processWakeups(m.redisPID)
	}
	if err := m.pool.QueryRow(ctx, `SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1`,
		m.db).Scan(&s.xacts); err != nil {
		return s, err
	}
	if m.statements {
		// The first words of each statement name it in the report.
		rows, err := m.pool.Query(ctx, `SELECT s.queryid, s.calls, s.total_exec_time + s.total_plan_time,
				left(regexp_replace(s.query, '\s+', ' ', 'g'), 60)
			FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1`, m.db)
		if err != nil {
			return s, err
		}
		s.byQuery = map[int64]statementCount{}
		var (
			id int64
			c  statementCount
		)
		if _, err := pgx.ForEachRow(rows, []any{&id, &c.calls, &c.ms, &c.query}, func() error {
			s.byQuery[id] = c
			s.statements += c.calls
			return nil
		}); err != nil {
			return s, err
		}
	}
	return s, nil
}

// statsDelay is how long a backend may keep its counts before it reports
// them to pg_stat_database: at most a second after its last statement.
const statsDelay = 1200 * time.Millisecond

// measure runs f, which returns how many webhooks it handled, and what that
// cost. It waits statsDelay before each snapshot, so that the counts of the
// work before it and of f's work are each on their own side.
func (m *costMeter) measure(ctx context.Context, f func() (int64, error)) (cost, error) {
	time.Sleep(statsDelay)
	before, err := m.snapshot(ctx)
	if err != nil {
		return cost{}, err
	}
	n, err := f()
	if err != nil {
		return cost{}, err
	}
	time.Sleep(statsDelay)
	after, err := m.snapshot(ctx)
	if err != nil {
		return cost{}, err
	}
	c := cost{webhooks: n, platform: after.platform - before.platform, redis: after.redis - before.redis,
		load:  after.load - before.load + spentSince(before.loadBackends, after.loadBackends, nil),
		xacts: after.xacts - before.xacts, statements: after.statements - before.statements,
		statementsCounted: m.statements, seconds: after.at.Sub(before.at).Seconds(), backends: len(after.backends)}
	for id, a := range after.byQuery {
		if n := a.calls - before.byQuery[id].calls; n > 0 {
			c.top = append(c.top, statementCount{a.query, n, a.ms - before.byQuery[id].ms})
		}
	}
	slices.SortFunc(c.top, func(a, b statementCount) int { return cmp.Compare(b.ms, a.ms) })
	c.top = c.top[:min(len(c.top), topStatements)]
	c.pg = spentSince(before.backends, after.backends, &c.newBackend)
	c.wakeups.platform = after.platformWakeups - before.platformWakeups
	c.wakeups.pg = spentSince(before.backendWakeups, after.backendWakeups, nil)
	c.wakeups.redis = after.redisWakeups - before.redisWakeups
	return c, nil
}

// spentSince is what the backends of after spent (CPU, wake-ups) since
// before, counting in connected those that connected meanwhile (they spent
// all of theirs in the span).
func spentSince[T int64 | float64](before, after map[int]T, connected *int) T {
	var spent T
	for pid, secs := range after {
		if b, ok := before[pid]; ok {
			spent += secs - b
		} else {
			spent += secs
			if connected != nil {
				*connected++
			}
		}
	}
	return spent
}

// processCPU is the CPU seconds pid has spent, from /proc/<pid>/stat.
func processCPU(pid int) (float64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	_, secs, ok := parseProcStat(string(b))
	return secs, ok
}

// processWakeups is how many times pid's threads went to sleep and were
// woken: the sum of their voluntary context switches, from
// /proc/<pid>/task/*/status. A thread that exited meanwhile takes its count
// with it; Go's runtime rarely ends threads, Postgres's backends have one.
func processWakeups(pid int) (int64, bool) {
	tasks, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/status")
	if err != nil || len(tasks) == 0 {
		return 0, false
	}
	var n int64
	for _, path := range tasks {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread ended
		}
		_, after, found := strings.Cut(string(b), "\nvoluntary_ctxt_switches:")
		if !found {
			return 0, false
		}
		line, _, _ := strings.Cut(after, "\n")
		v, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
		if err != nil {
			return 0, false
		}
		n += v
	}
	return n, true
}

// parseProcStat reads a /proc/<pid>/stat line: the command and the user and
// system CPU seconds.
func parseProcStat(s string) (comm string, secs float64, ok bool) {
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return "", 0, false
	}
	// After the command: state is field 3, utime and stime fields 14 and 15.
	f := strings.Fields(s[closing+1:])
	if len(f) < 13 {
		return "", 0, false
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return s[open+1 : closing], (utime + stime) / clockTicks, true
}

// privateRedis is a redis-server of the bench's own, so that its CPU is the
// scenario's alone; it keeps nothing on disk.
type privateRedis struct {
	url string
	cmd *exec.Cmd
}

func startPrivateRedis(ctx context.Context, dir string) (*privateRedis, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	r := &privateRedis{url: "redis://" + addr + "/0", cmd: cmd}
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	for deadline := time.Now().Add(20 * time.Second); client.Ping(ctx).Err() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("redis-server on %s did not answer", addr)
		}
	}
	return r, nil
}

func (r *privateRedis) pid() int { return r.cmd.Process.Pid }

func (r *privateRedis) stop() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}
