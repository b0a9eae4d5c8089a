// Package telemetry is how Ordermill processes report on themselves: log lines
// that carry the request's ids, and Prometheus collectors for what is cheaper
// to read on scrape than to count as it happens.
package telemetry

import (
	"context"
	"log/slog"
	"slices"
)

// Log attribute names shared by every process, so one query finds a request
// or a webhook across the api, relay and worker logs.
const (
	KeyRequestID     = "request_id"
	KeyCorrelationID = "correlation_id"
	KeyShop          = "shop"
	KeyUser          = "user"
	KeyRole          = "role"
)

type fieldsKey struct{}

// WithAttrs returns a context whose log lines carry attrs. An attribute named
// like one the context already has replaces it.
func WithAttrs(ctx context.Context, attrs ...slog.Attr) context.Context {
	old := Attrs(ctx)
	merged := make([]slog.Attr, 0, len(old)+len(attrs))
	for _, a := range old {
		if !slices.ContainsFunc(attrs, func(b slog.Attr) bool { return b.Key == a.Key }) {
			merged = append(merged, a)
		}
	}
	return context.WithValue(ctx, fieldsKey{}, append(merged, attrs...))
}

// Attrs are the log attributes ctx carries.
func Attrs(ctx context.Context) []slog.Attr {
	a, _ := ctx.Value(fieldsKey{}).([]slog.Attr)
	return a
}

// CorrelationID is the correlation id ctx carries, or "".
func CorrelationID(ctx context.Context) string {
	for _, a := range Attrs(ctx) {
		if a.Key == KeyCorrelationID {
			return a.Value.String()
		}
	}
	return ""
}

// ContextHandler adds the attributes a record's context carries (WithAttrs)
// to every record, so a handler logging with its request context needs to
// name none of them.
type ContextHandler struct {
	slog.Handler
}

// Handle adds the context's attributes the record does not name itself,
// then hands the record on.
func (h ContextHandler) Handle(ctx context.Context, r slog.Record) error {
	attrs := Attrs(ctx)
	if len(attrs) == 0 {
		return h.Handler.Handle(ctx, r)
	}
	named := map[string]bool{}
	r.Attrs(func(a slog.Attr) bool {
		named[a.Key] = true
		return true
	})
	r = r.Clone()
	for _, a := range attrs {
		if !named[a.Key] {
			r.AddAttrs(a)
		}
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper around the derived handler.
func (h ContextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return ContextHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the wrapper around the derived handler.
func (h ContextHandler) WithGroup(name string) slog.Handler {
	return ContextHandler{h.Handler.WithGroup(name)}
}
