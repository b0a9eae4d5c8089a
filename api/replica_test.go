package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/database"
	"github.com/ordermill/ordermill/internal/telemetry"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
	"github.com/ordermill/ordermill/migrations"
)

// TestReadYourWritesOnAReplica runs the API with its reads on a streaming
// replica (pg_basebackup -R) whose replay is paused: a plain read does not
// see a new order, the dashboard's lag shows the replica behind, and a read
// with the write's position waits until the replica has replayed the
// projector's work, then sees the order.
func TestReadYourWritesOnAReplica(t *testing.T) {
	ctx := context.Background()
	primary := testenv.StartPostgres(t)
	dbURL := primary.URL("ordermill")
	if err := database.EnsureExists(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Up(dbURL); err != nil {
		t.Fatal(err)
	}
	replica := primary.StartReplica()
	e, _ := newContractEnv(t, func(c *config.Config) { c.DatabaseURL, c.DatabaseReadURL = dbURL, replica.URL("ordermill") })
	owner := e.UserToken(t, "replica.myshopify.com", domain.RoleOwner)

	replay, err := pgx.Connect(ctx, replica.URL("ordermill"))
	if err != nil {
		t.Fatal(err)
	}
	defer replay.Close(ctx)
	if _, err := replay.Exec(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	o := placeOrder(t, e, owner, sampleOrder("replica@example.com"))

	// Reads come from the replica, which has not replayed the order.
	resp := e.Do(t, http.MethodGet, "/api/v1/orders", owner, nil)
	var page orderPage
	apitest.Decode(t, resp, &page)
	if resp.StatusCode != http.StatusOK || len(page.Items) != 0 {
		t.Fatalf("plain list while the replica is paused: %d, %d orders; want 200 and none", resp.StatusCode, len(page.Items))
	}
	var lag struct {
		Items []struct {
			Kind   string `json:"kind"`
			Events int64  `json:"events"`
		} `json:"items"`
	}
	apitest.Decode(t, e.Do(t, http.MethodGet, "/api/v1/status/lag", owner, nil), &lag)
	behind := int64(-1)
	for _, l := range lag.Items {
		if l.Kind == "replica" {
			behind = l.Events
		}
	}
	if behind < 1 {
		t.Fatalf("status/lag while the replica is paused: replica %d events behind, want at least 1 (%+v)", behind, lag.Items)
	}
	// The metrics the dashboard and the alerts read say so too.
	lagMetrics := replicaLagMetrics(ctx, t, dbURL, replica.URL("ordermill"))
	if lagMetrics["ordermill_db_replica_lag_up"] != 1 || lagMetrics["ordermill_db_replica_lag_events"] < 1 ||
		lagMetrics["ordermill_db_replica_lag_seconds"] <= 0 {
		t.Fatalf("replica lag metrics while the replica is paused: %v", lagMetrics)
	}

	resumed := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, err := replay.Exec(ctx, `SELECT pg_wal_replay_resume()`)
		resumed <- err
	}()
	got, _ := freshOrder(t, e, "/api/v1/orders/"+o.ID, owner, o.Position)
	if err := <-resumed; err != nil {
		t.Fatal(err)
	}
	if got.ID != o.ID || got.Version != 1 {
		t.Fatalf("read with the write's position: %+v", got)
	}
}

// replicaLagMetrics scrapes the replica lag collector once: gauge name → value.
func replicaLagMetrics(ctx context.Context, t *testing.T, primaryURL, replicaURL string) map[string]float64 {
	t.Helper()
	primary, err := pgxpool.New(ctx, primaryURL)
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close()
	replica, err := pgxpool.New(ctx, replicaURL)
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(telemetry.NewReplicaCollector(primary, replica, slog.Default()))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			out[f.GetName()] = m.GetGauge().GetValue()
		}
	}
	return out
}
