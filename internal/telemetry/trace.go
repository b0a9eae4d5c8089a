package telemetry

import (
	"context"
	"log/slog"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Log attribute names of the W3C trace a line belongs to.
const (
	KeyTraceID = "trace_id"
	KeySpanID  = "span_id"
)

// propagator reads and writes W3C traceparent (and tracestate) headers.
var propagator = propagation.TraceContext{}

// StartTracing installs this process's tracer provider. Spans always get W3C
// ids, so a caller's traceparent reaches log lines and event metadata; they
// are exported through OTLP over HTTP only when OTEL_EXPORTER_OTLP_ENDPOINT
// (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, with the exporter's other
// OTEL_* variables. shutdown flushes what is still buffered.
func StartTracing(ctx context.Context, service string) (shutdown func(context.Context) error, err error) {
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, err
		}
		res, err := resource.Merge(resource.Default(),
			resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service)))
		if err != nil {
			return nil, err
		}
		opts = append(opts, sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagator)
	return tp.Shutdown, nil
}

// Tracer is the tracer of an Ordermill package.
func Tracer(name string) trace.Tracer { return otel.Tracer("github.com/ordermill/ordermill/" + name) }

// ExtractTrace returns ctx under the remote span a traceparent names; an
// absent or malformed one leaves ctx as it is (the next span starts a trace).
func ExtractTrace(ctx context.Context, traceparent, tracestate string) context.Context {
	carrier := propagation.MapCarrier{"traceparent": traceparent}
	if tracestate != "" {
		carrier["tracestate"] = tracestate
	}
	return propagator.Extract(ctx, carrier)
}

// TraceParent is the W3C traceparent of ctx's span, or "".
func TraceParent(ctx context.Context) string {
	carrier := propagation.MapCarrier{}
	propagator.Inject(ctx, carrier)
	return carrier["traceparent"]
}

// WithSpan returns ctx with span, whose trace and span ids its log lines carry.
func WithSpan(ctx context.Context, span trace.Span) context.Context {
	sc := span.SpanContext()
	ctx = trace.ContextWithSpan(ctx, span)
	if !sc.IsValid() {
		return ctx
	}
	return WithAttrs(ctx, slog.String(KeyTraceID, sc.TraceID().String()), slog.String(KeySpanID, sc.SpanID().String()))
}
