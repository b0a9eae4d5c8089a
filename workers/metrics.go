package workers

import (
	"errors"
	"strconv"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/shopify"
)

// Retries are attempts that failed and were not dead-lettered:
// attempts{result="error"} - dead_letters (counted by package bus).
var (
	attempts = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "ordermill_worker_attempts_total",
		Help: "Handler runs, first tries and retries, by handler and result (ok, error).",
	}, []string{"handler", "result"})
	// Named and labelled as Watermill's router metrics, which it replaces.
	executionTime = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ordermill_worker_handler_execution_time_seconds",
		Help:    "Time a handler takes per attempt (a batch handler's: per batch), by handler and success.",
		Buckets: prometheus.DefBuckets,
	}, []string{"handler_name", "success"})
	externalDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ordermill_external_request_duration_seconds",
		Help:    "Calls to Shopify and SES, per attempt, by service, operation and HTTP status (\"error\": no answer).",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"service", "operation", "status"})
)

// ObserveShopify records one Admin API attempt; it is the Admin client's
// Observe hook.
func ObserveShopify(c shopify.AdminCall) {
	status := "error"
	if c.Status != 0 {
		status = strconv.Itoa(c.Status)
	}
	externalDuration.WithLabelValues("shopify", c.Operation, status).Observe(c.Duration.Seconds())
}

func observeSES(start time.Time, err error) {
	status := "200"
	var re *awshttp.ResponseError
	switch {
	case errors.As(err, &re):
		status = strconv.Itoa(re.HTTPStatusCode())
	case err != nil:
		status = "error"
	}
	externalDuration.WithLabelValues("ses", "SendEmail", status).Observe(time.Since(start).Seconds())
}

// startMetrics makes handler's counters exist at 0 from the start, so that
// dashboards show 0 rather than no data and increase() counts the first.
func startMetrics(handler string) {
	bus.StartMetrics(handler)
	attempts.WithLabelValues(handler, "ok")
	attempts.WithLabelValues(handler, "error")
}

func observeAttempt(handler string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	attempts.WithLabelValues(handler, result).Inc()
}

func observeExecution(handler string, start time.Time, errs ...error) {
	success := "true"
	for _, err := range errs {
		if err != nil {
			success = "false"
		}
	}
	executionTime.WithLabelValues(handler, success).Observe(time.Since(start).Seconds())
}
