package projections

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var projected = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "ordermill_projector_events_total",
	Help: "Events a projector consumed, by outcome (applied, skipped as already applied, gap, error).",
}, []string{"projector", "outcome"})

func observeApply(projector string, o Outcome, err error) {
	outcome := "applied"
	switch {
	case errors.Is(err, ErrGap):
		outcome = "gap"
	case err != nil:
		outcome = "error"
	case o == Skipped:
		outcome = "skipped"
	}
	projected.WithLabelValues(projector, outcome).Inc()
}

// observeBatch counts a batch applied in one transaction.
func observeBatch(projector string, applied, skipped int) {
	projected.WithLabelValues(projector, "applied").Add(float64(applied))
	projected.WithLabelValues(projector, "skipped").Add(float64(skipped))
}
