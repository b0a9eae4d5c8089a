package platform_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/telemetry"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
	"github.com/ordermill/ordermill/workers"
)

// waitFor polls cond until it holds; the test's own deadline bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if d, ok := t.Deadline(); ok && time.Until(d) < 5*time.Second {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMetricsAfterTraffic drives orders through the API, a worker handler that
// fails for one order (so it is retried and dead-lettered) and the relay and
// projectors, then scrapes /metrics and checks each named metric. It also
// follows one request's correlation id into event metadata and worker logs.
func TestMetricsAfterTraffic(t *testing.T) {
	e := apitest.New(t)
	const shop = "metrics.myshopify.com"
	owner := e.UserToken(t, shop, domain.RoleOwner)

	// A worker that fails on one order, logging with its message context.
	var logs testenv.LogBuffer
	workerLog := slog.New(telemetry.ContextHandler{Handler: slog.NewJSONHandler(&logs, nil)})
	probe := workers.Handler{Name: "probe", Categories: []string{"order"},
		Handle: func(ctx context.Context, ev eventstore.Event) error {
			workerLog.InfoContext(ctx, "probe saw event", "stream", ev.StreamID)
			if ev.Type == "order.cancelled" {
				return errors.New("probe refuses cancellations")
			}
			return nil
		}}
	cfg := e.Platform.WorkersConfig()
	cfg.MaxRetries, cfg.RetryInterval, cfg.Logger = 1, time.Millisecond, workerLog
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- workers.NewRouter(cfg, probe).Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker router: %v", err)
		}
	})

	const orders = 12
	var ids, positions []string
	for i := range orders {
		headers := []string{"Idempotency-Key", "metrics-" + string(rune('a'+i))}
		if i == 0 {
			headers = append(headers, "X-Correlation-Id", "corr-metrics-1")
		}
		resp := e.Do(t, http.MethodPost, "/api/v1/orders", owner, map[string]any{
			"email": "buyer@example.com", "customer_name": "Ada", "currency": "EUR",
			"lines": []map[string]any{{"sku": "SKU-1", "title": "Mug", "quantity": 1, "unit_price": 1250}},
		}, headers...)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("place order: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
		}
		if i == 0 && resp.Header.Get("X-Correlation-Id") != "corr-metrics-1" {
			t.Errorf("correlation id not echoed: %q", resp.Header.Get("X-Correlation-Id"))
		}
		var o struct{ ID, Position string }
		apitest.Decode(t, resp, &o)
		ids, positions = append(ids, o.ID), append(positions, o.Position)
	}
	resp := e.Do(t, http.MethodPost, "/api/v1/orders/"+ids[orders-1]+"/cancel", owner, map[string]any{"reason": "probe"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("cancel: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
	}
	var cancelled struct{ Position string }
	apitest.Decode(t, resp, &cancelled)
	positions[orders-1] = cancelled.Position
	// Reads: one that waits for the projector (read model, fills the cache),
	// then one served from the cache.
	for i, id := range ids {
		for _, resp := range []*http.Response{
			e.Fresh(t, "/api/v1/orders/"+id, owner, positions[i]),
			e.Do(t, http.MethodGet, "/api/v1/orders/"+id, owner, nil),
		} {
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("get order: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
			}
			resp.Body.Close()
		}
	}

	// Wait for the effects the metrics describe: the dead letter and the
	// correlated worker run.
	waitFor(t, "the dead letter", func() bool {
		var n int
		_ = e.Platform.Pool.QueryRow(context.Background(),
			`SELECT count(*) FROM dead_letters WHERE handler = 'probe'`).Scan(&n)
		return n > 0
	})
	waitFor(t, "the correlated worker log line", func() bool { return strings.Contains(logs.String(), "corr-metrics-1") })

	// The correlation id went from the request into the event and the worker's log line.
	first, err := e.Platform.Store.ReadStream(context.Background(), "order-"+ids[0], 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := first[0].Metadata.CorrelationID; got != "corr-metrics-1" {
		t.Errorf("event correlation id = %q, want corr-metrics-1", got)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, "corr-metrics-1") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("worker log line is not JSON: %q", line)
		}
		if rec["shop"] != shop || rec["worker"] != "probe" || rec["correlation_id"] != "corr-metrics-1" {
			t.Errorf("worker log line lacks its context: %v", rec)
		}
	}

	m := testenv.Scrape(t, e.MetricsURL+"/metrics")
	atLeast := func(name string, labels map[string]string, min float64) {
		t.Helper()
		v, ok := m.Sum(name, labels)
		if !ok || v < min {
			t.Errorf("%s%v = %v (found %v), want >= %v", name, labels, v, ok, min)
		}
	}
	between := func(name string, labels map[string]string, lo, hi float64) {
		t.Helper()
		v, ok := m.Sum(name, labels)
		if !ok || v < lo || v > hi {
			t.Errorf("%s%v = %v (found %v), want in [%v, %v]", name, labels, v, ok, lo, hi)
		}
	}
	atLeast("ordermill_http_request_duration_seconds", map[string]string{"route": "/api/v1/orders", "method": "POST", "status": "201"}, orders)
	atLeast("ordermill_http_request_duration_seconds", map[string]string{"route": "/api/v1/orders/:id", "method": "GET", "status": "200"}, 2*orders)
	atLeast("ordermill_event_append_duration_seconds", map[string]string{"result": "ok"}, orders+1)
	between("ordermill_relay_leader", nil, 1, 1)
	atLeast("ordermill_relay_published_events_total", map[string]string{"category": "order"}, orders+1)
	between("ordermill_relay_lag_events", map[string]string{"checkpoint": "relay"}, 0, 1e6)
	between("ordermill_relay_lag_seconds", map[string]string{"checkpoint": "relay"}, 0, 3600)
	between("ordermill_projector_lag_events", map[string]string{"projector": "orders"}, 0, 1e6)
	between("ordermill_projector_lag_seconds", map[string]string{"projector": "orders"}, 0, 3600)
	atLeast("ordermill_projector_events_total", map[string]string{"projector": "orders", "outcome": "applied"}, orders+1)
	atLeast("ordermill_redis_stream_length", map[string]string{"stream": "events.order"}, orders+1)
	between("ordermill_redis_stream_pending", map[string]string{"stream": "events.order", "group": "projectors"}, 0, orders+1)
	between("ordermill_redis_stream_lag", map[string]string{"stream": "events.order", "group": "worker.probe"}, 0, orders+1)
	between("ordermill_redis_streams_up", nil, 1, 1)
	between("ordermill_lag_up", nil, 1, 1)
	atLeast("ordermill_worker_attempts_total", map[string]string{"handler": "probe", "result": "ok"}, orders)
	atLeast("ordermill_worker_attempts_total", map[string]string{"handler": "probe", "result": "error"}, 2)
	atLeast("ordermill_worker_dead_letters_total", map[string]string{"handler": "probe"}, 1)
	atLeast("ordermill_dead_letters_open", map[string]string{"handler": "probe"}, 1)
	atLeast("ordermill_worker_handler_execution_time_seconds", map[string]string{"success": "false"}, 2)
	atLeast("ordermill_cache_requests_total", map[string]string{"cache": "order", "result": "hit"}, 1)
	atLeast("ordermill_cache_requests_total", map[string]string{"cache": "order", "result": "miss"}, 1)
	atLeast("ordermill_db_pool_max_connections", map[string]string{"pool": "primary"}, 1)
	atLeast("ordermill_db_pool_acquires_total", map[string]string{"pool": "primary"}, orders)
	between("ordermill_db_pool_connections", map[string]string{"pool": "primary", "state": "acquired"}, 0, 1000)
}

// TestMetricsAndProfilesOnlyOnOperatorsAddress: the public listener answers
// 404 (problem+json, never the app) for /metrics and the profiles, which only
// ORDERMILL_METRICS_ADDR serves.
func TestMetricsAndProfilesOnlyOnOperatorsAddress(t *testing.T) {
	e := apitest.New(t)
	get := func(url string) (int, string, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
	}
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/profile"} {
		status, ct, body := get(e.URL + path)
		if status != http.StatusNotFound || !strings.HasPrefix(ct, "application/problem+json") {
			t.Errorf("public GET %s: %d %s, want a 404 problem: %.200s", path, status, ct, body)
		}
	}
	status, _, body := get(e.MetricsURL + "/metrics")
	if status != http.StatusOK || !strings.Contains(body, "ordermill_http_request_duration_seconds") {
		t.Errorf("operators' GET /metrics: %d, want 200 with the API's request metrics: %.200s", status, body)
	}
	status, _, body = get(e.MetricsURL + "/debug/pprof/")
	if status != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("operators' GET /debug/pprof/: %d, want 200 with the profile index: %.200s", status, body)
	}
}
