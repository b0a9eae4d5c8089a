package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/ordermill/ordermill/internal/telemetry"
)

func TestContextHandlerAddsContextAttrs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(telemetry.ContextHandler{Handler: slog.NewJSONHandler(&buf, nil)}).With("roles", "api")
	ctx := telemetry.WithAttrs(context.Background(),
		slog.String(telemetry.KeyRequestID, "req-1"), slog.String(telemetry.KeyCorrelationID, "corr-1"))
	ctx = telemetry.WithAttrs(ctx, slog.String(telemetry.KeyShop, "a.myshopify.com"),
		slog.String(telemetry.KeyCorrelationID, "corr-2"))

	log.InfoContext(ctx, "first", telemetry.KeyRequestID, "explicit")
	log.Info("no context")

	dec := json.NewDecoder(&buf)
	var first, second map[string]any
	if err := dec.Decode(&first); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&second); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"request_id": "explicit", "correlation_id": "corr-2", "shop": "a.myshopify.com", "roles": "api"}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("first line %s = %v, want %v (line %v)", k, first[k], v, first)
		}
	}
	if _, ok := second["correlation_id"]; ok {
		t.Errorf("a line without context carries a correlation id: %v", second)
	}
	if got := telemetry.CorrelationID(ctx); got != "corr-2" {
		t.Errorf("CorrelationID = %q, want corr-2", got)
	}
	if got := telemetry.CorrelationID(context.Background()); got != "" {
		t.Errorf("CorrelationID of an empty context = %q", got)
	}
}
