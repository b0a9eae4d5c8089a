package platform_test

import (
	"math"
	"os"
	"runtime/debug"
	"testing"

	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
)

// A server collects at ServerGCPercent under the configured memory limit,
// unless GOGC or GOMEMLIMIT say otherwise.
func TestTuneGC(t *testing.T) {
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) })
	cfg := config.Config{MemoryLimit: 300 << 20}

	for _, name := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	platform.TuneGC(cfg)
	if p, l := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64); p != platform.ServerGCPercent || l != cfg.MemoryLimit {
		t.Errorf("without GOGC and GOMEMLIMIT: GC percent %d, memory limit %d; want %d, %d", p, l, platform.ServerGCPercent, cfg.MemoryLimit)
	}

	// Set in the environment, they took effect when the process started.
	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetGCPercent(150)
	debug.SetMemoryLimit(1 << 30)
	platform.TuneGC(cfg)
	if p, l := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64); p != 150 || l != 1<<30 {
		t.Errorf("with GOGC=150 and GOMEMLIMIT=1GiB: GC percent %d, memory limit %d", p, l)
	}
}
