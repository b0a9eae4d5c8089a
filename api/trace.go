package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordermill/ordermill/internal/telemetry"
)

// traceparentHeader carries a caller's W3C trace context.
const traceparentHeader = "traceparent"

// traceRequests runs each request in a server span that continues the
// caller's trace when it sent a valid traceparent (and starts one
// otherwise): its ids go into the request's log lines and, through
// eventMeta, into the metadata of the events it appends.
func traceRequests() gin.HandlerFunc {
	tracer := telemetry.Tracer("api")
	return func(c *gin.Context) {
		ctx := telemetry.ExtractTrace(c.Request.Context(), c.GetHeader(traceparentHeader), c.GetHeader("Tracestate"))
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		ctx, span := tracer.Start(ctx, c.Request.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", c.Request.Method), attribute.String("http.route", route)))
		defer span.End()
		c.Request = c.Request.WithContext(telemetry.WithSpan(ctx, span))
		c.Next()
		status := c.Writer.Status()
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	}
}
