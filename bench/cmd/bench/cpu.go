package main

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// CPU accounting from /proc, to say in the report what a scenario was bound
// by: whether the machine's cores were busy, and which process spent them.
// Where /proc is missing (not Linux), or the servers run elsewhere, the
// figures it cannot see are left out.

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// cpuGroups are the servers a scenario's CPU is split between, by the start
// of their command name; the bench process is counted by pid, as benchGroup.
var cpuGroups = []struct{ prefix, name string }{{"postgres", "Postgres"}, {"redis-server", "Redis"}}

const benchGroup = "the bench process"

// cpuTimes is a snapshot of CPU seconds spent so far.
type cpuTimes struct {
	busy, all float64 // the whole machine, from /proc/stat
	procs     map[int]procTime
}

// procTime is the CPU a live process of a group has spent since it started.
type procTime struct {
	group string
	secs  float64
}

func readCPUTimes() (cpuTimes, bool) {
	t := cpuTimes{procs: map[int]procTime{}}
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return t, false
	}
	// cpu  user nice system idle iowait irq softirq steal guest guest_nice:
	// guest time is counted in user already, and steal is another
	// machine's work, so busy is the rest but idle and iowait.
	line, _, _ := strings.Cut(string(stat), "\n")
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseFloat(f, 64)
		if i < 8 {
			t.all += v / clockTicks
		}
		if i < 7 && i != 3 && i != 4 {
			t.busy += v / clockTicks
		}
	}
	self := os.Getpid()
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		s := string(b)
		comm, secs, ok := parseProcStat(s)
		if !ok {
			continue
		}
		name := ""
		pid, _ := strconv.Atoi(strings.TrimSpace(s[:strings.IndexByte(s, '(')]))
		if pid == self {
			name = benchGroup
		}
		for _, g := range cpuGroups {
			if strings.HasPrefix(comm, g.prefix) {
				name = g.name
			}
		}
		if name == "" {
			continue
		}
		t.procs[pid] = procTime{name, secs}
	}
	return t, true
}

// cpuUse adds up the CPU spent over measured spans, for events events
// (or whatever per names: "webhook").
type cpuUse struct {
	per       string
	ok        bool
	busy, all float64
	byGroup   map[string]float64
	events    int64
}

// measure runs f and adds its CPU, and the events f says it handled, to u.
func (u *cpuUse) measure(f func() (events int64, err error)) error {
	before, ok := readCPUTimes()
	events, err := f()
	if err != nil {
		return err
	}
	after, ok2 := readCPUTimes()
	if !ok || !ok2 {
		return nil
	}
	if u.byGroup == nil {
		u.ok, u.byGroup = true, map[string]float64{}
	}
	u.busy += after.busy - before.busy
	u.all += after.all - before.all
	// A process started meanwhile spent all its CPU in the span; one that
	// exited meanwhile is missing, its CPU left to "other".
	for pid, p := range after.procs {
		u.byGroup[p.group] += p.secs - before.procs[pid].secs
	}
	u.events += events
	return nil
}

// String says how busy the machine was and what each group of processes
// spent per event. Processes that exited during a span (Postgres's parallel
// workers) are counted under "other", with the kernel's work for no process.
func (u cpuUse) String() string {
	if !u.ok || u.all <= 0 || u.events == 0 {
		return "CPU not measured (no /proc)"
	}
	perEvent := func(s float64) string { return fmt.Sprintf("%.1f µs", 1e6*s/float64(u.events)) }
	parts := []string{}
	named := 0.0
	names := []string{}
	for _, g := range cpuGroups {
		names = append(names, g.name)
	}
	for _, name := range append(names, benchGroup) {
		// A server the scenario does not use shows only its idle ticks.
		if s := u.byGroup[name]; 1e6*s/float64(u.events) >= 0.05 {
			named += s
			parts = append(parts, name+" "+perEvent(s))
		}
	}
	parts = append(parts, "other "+perEvent(max(0, u.busy-named)))
	per := cmp.Or(u.per, "event")
	return fmt.Sprintf("the machine's %d cores were %.0f%% busy; CPU per %s: %s (busy total %s)",
		runtime.NumCPU(), 100*u.busy/u.all, per, strings.Join(parts, ", "), perEvent(u.busy))
}
