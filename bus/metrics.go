package bus

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var deadLettered = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "ordermill_worker_dead_letters_total",
	Help: "Events a handler (worker or projector) gave up on after its retries.",
}, []string{"handler"})

// StartMetrics makes handler's dead-letter counter exist at 0 from the start,
// so that dashboards show 0 rather than no data and increase() counts the first.
func StartMetrics(handler string) { deadLettered.WithLabelValues(handler) }
