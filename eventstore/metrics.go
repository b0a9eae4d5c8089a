package eventstore

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var appendDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "ordermill_event_append_duration_seconds",
	Help:    "Time to append events to the store, by result (ok, conflict, error).",
	Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
}, []string{"result"})

func observeAppend(start time.Time, err error) {
	result := "ok"
	var conflict *ConflictError
	switch {
	case errors.As(err, &conflict):
		result = "conflict"
	case err != nil:
		result = "error"
	}
	appendDuration.WithLabelValues(result).Observe(time.Since(start).Seconds())
}
