package main

import (
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The bench process's own CPU must show up in its group, and the machine's
// busy time must cover it.
func TestCPUUseCountsThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc: CPU accounting is Linux-only and reports itself unmeasured")
	}
	var (
		u             cpuUse
		before, after syscall.Rusage
	)
	// The kernel's own count of this process's CPU over the busy loop is the
	// reference: how much a busy loop gets depends on what else the machine
	// runs. It is read inside the measured interval, so the measurement
	// may exceed it by what measure itself spends reading /proc (a busy
	// machine has many processes to read), never fall short of it.
	err := u.measure(func() (int64, error) {
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
			return 0, err
		}
		x := 0
		for start := time.Now(); time.Since(start) < 300*time.Millisecond; {
			x++
		}
		_ = x
		return 1000, syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	})
	if err != nil {
		t.Fatal(err)
	}
	spent := rusageSeconds(after) - rusageSeconds(before)
	own := u.byGroup[benchGroup]
	// Each of user and system time is rounded to a clock tick in /proc.
	if spent < 0.05 || own < spent-0.03 || own > spent+0.1 {
		t.Fatalf("this process spent %.2f s of CPU in a 0.3 s busy loop; measured %.2f s", spent, own)
	}
	// A tick of slack: busy and all are sums of separately rounded parts,
	// and a machine busy with other tests can be busy all the time.
	if u.busy < own*0.9 || u.busy > u.all+0.01 {
		t.Fatalf("machine busy %.2f s of %.2f s, this process %.2f s", u.busy, u.all, own)
	}
	if s := u.String(); !strings.Contains(s, benchGroup+" ") || !strings.Contains(s, "busy") {
		t.Fatalf("report %q", s)
	}
}

func rusageSeconds(r syscall.Rusage) float64 {
	return float64(r.Utime.Nano()+r.Stime.Nano()) / 1e9
}

// A thread that sleeps and wakes 50 times adds at least 50 to its
// process's wake-ups.
func TestProcessWakeupsCountsSleeps(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc: wake-ups are Linux-only")
	}
	type reading struct {
		added int64
		read  bool
	}
	done := make(chan reading)
	go func() {
		// One OS thread of its own, so that every sleep is that thread's.
		runtime.LockOSThread()
		before, ok := processWakeups(os.Getpid())
		for range 50 {
			time.Sleep(time.Millisecond)
		}
		after, ok2 := processWakeups(os.Getpid())
		done <- reading{after - before, ok && ok2}
	}()
	if r := <-done; !r.read || r.added < 50 {
		t.Fatalf("50 sleeps added %d wake-ups (read from /proc: %v)", r.added, r.read)
	}
	if n, ok := processWakeups(-1); ok || n != 0 {
		t.Fatalf("a process that does not exist has %d wake-ups (%v)", n, ok)
	}
}
