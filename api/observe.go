package api

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/ordermill/ordermill/internal/telemetry"
)

var httpDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "ordermill_http_request_duration_seconds",
	Help:    "HTTP requests by route template, method and status.",
	Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
}, []string{"route", "method", "status"})

// correlationIDHeader carries the id that ties a request to everything it
// causes: events, relayed messages, worker runs and their log lines.
const correlationIDHeader = "X-Correlation-Id"

// observe runs after requestID: it puts the request and correlation ids into
// the request context, where log lines (telemetry.ContextHandler) and event
// metadata (eventMeta) find them, and times the request by route template.
func observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		requestID := c.GetString("request_id")
		correlationID := c.GetHeader(correlationIDHeader)
		if len(correlationID) == 0 || len(correlationID) > 64 {
			correlationID = requestID
		}
		c.Header(correlationIDHeader, correlationID)
		c.Request = c.Request.WithContext(telemetry.WithAttrs(c.Request.Context(),
			slog.String(telemetry.KeyRequestID, requestID), slog.String(telemetry.KeyCorrelationID, correlationID)))
		c.Next()
		// Unmatched paths share one label, so scanners cannot grow the series count.
		route, method := c.FullPath(), c.Request.Method
		if route == "" {
			route, method = "unmatched", "any"
		}
		httpDuration.WithLabelValues(route, method, strconv.Itoa(c.Writer.Status())).Observe(time.Since(start).Seconds())
	}
}

// logPrincipal adds who the request acts for to its log lines.
func logPrincipal(c *gin.Context, p Principal) {
	c.Request = c.Request.WithContext(telemetry.WithAttrs(c.Request.Context(),
		slog.String(telemetry.KeyShop, p.Shop), slog.String(telemetry.KeyUser, p.Actor()),
		slog.String(telemetry.KeyRole, string(p.Role))))
}

// correlationID is the request's correlation id for event metadata.
func correlationID(c *gin.Context) string {
	if id := telemetry.CorrelationID(c.Request.Context()); id != "" {
		return id
	}
	return c.GetString("request_id")
}
