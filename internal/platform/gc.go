package platform

import (
	"os"
	"runtime/debug"

	"github.com/ordermill/ordermill/internal/config"
)

// ServerGCPercent is a server's GC percent when GOGC is not set. Its live
// heap is small, so at Go's default of 100 the collector ran every few
// megabytes allocated: about a tenth of the CPU a quiet platform spent per
// webhook. The memory limit bounds what the larger heap may grow to.
const ServerGCPercent = 400

// TuneGC sets a server process's collector: ServerGCPercent unless GOGC is
// set, and cfg.MemoryLimit as its soft memory limit unless GOMEMLIMIT is.
func TuneGC(cfg config.Config) {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(ServerGCPercent)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set && cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimit)
	}
}
