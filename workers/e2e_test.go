package workers_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/relay"
	"github.com/ordermill/ordermill/workers"
)

// The whole webhook path over real HTTP, Postgres and Redis: the simulator
// sends a scenario with duplicates, late snapshots, bad signatures and
// malformed bodies; one of two worker processes dies mid-run. The read
// models must end exactly as the scenario says.
func TestWebhooksEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const shop, secret = "e2e.myshopify.com", "e2e-webhook-secret"

	cfg := testenv.Config(t)
	prefix := cfg.StreamPrefix
	p, srv := openWithShop(ctx, t, cfg, shop, secret)

	roles := make(chan error, 1)
	go func() { roles <- p.Run(ctx, []string{"relay", "projectors"}) }()
	sim := testenv.StartSimulator(t)
	var created struct{ ID string }
	if code := sim.Do(t, "POST", "/_sim/runs", map[string]any{
		"scenario": "orders", "shop": shop, "secret": secret, "target": srv.URL, "seed": 20251124,
		"orders": 130, "concurrency": 1,
		"duplicate_pct": 5, "reorder_pct": 15, "bad_signature_pct": 3, "malformed_pct": 3,
	}, &created); code != 201 {
		t.Fatalf("start run: %d", code)
	}

	// A consumer that crashed right after reading: it takes the first
	// messages and never acknowledges them, so a live worker must claim them
	// once they have idled.
	stream := relay.Topic(prefix, "webhook")
	group := prefix + "worker." + app.WebhooksHandler
	if err := relay.CreateGroup(ctx, p.Redis, stream, group); err != nil {
		t.Fatal(err)
	}
	res, err := p.Redis.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "worker-crashed",
		Streams: []string{stream, ">"}, Count: 3, Block: time.Minute}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) == 0 {
		t.Fatalf("the crashed consumer read %v, %v", res, err)
	}
	t.Logf("the crashed consumer holds %d unacknowledged messages", len(res[0].Messages))

	// Two worker processes in one consumer group; a stops mid-run, and what
	// it held in flight stays pending for b to claim.
	startWorker := func(name string) (context.CancelFunc, chan error) {
		wctx, stop := context.WithCancel(ctx)
		wcfg := p.WorkersConfig()
		wcfg.ConsumerName = name
		done := make(chan error, 1)
		go func() { done <- workers.NewRouter(wcfg, workers.Webhooks(p.WebhookProcessor())).Run(wctx) }()
		return stop, done
	}
	stopA, doneA := startWorker("worker-a")
	stopB, doneB := startWorker("worker-b")
	defer stopB()
	waitFor(t, "worker a and b to process a share of the run", func() bool {
		return processedCount(ctx, t, p.Pool, shop) >= 100
	})
	stopA()
	if err := <-doneA; err != nil {
		t.Fatalf("worker a: %v", err)
	}

	var run testenv.SimRun
	waitFor(t, "the simulator run", func() bool {
		sim.Do(t, "GET", "/_sim/runs/"+created.ID+"?deliveries=false", nil, &run)
		return run.Status == "done"
	})
	sim.Do(t, "GET", "/_sim/runs/"+created.ID, nil, &run)
	if run.Total < 500 {
		t.Fatalf("scenario has %d deliveries, want at least 500", run.Total)
	}
	if run.Unexpected != 0 {
		t.Errorf("%d deliveries got an unexpected status", run.Unexpected)
	}

	acked := map[string][]byte{}
	var malformed, unauthorized []string
	stats := map[string]int{}
	deliveries := map[string]int{} // acknowledged deliveries per webhook id
	for _, d := range run.Deliveries {
		switch {
		case d.Status == 200:
			acked[d.WebhookID] = d.Body
			deliveries[d.WebhookID]++
			if d.Bad {
				malformed = append(malformed, d.WebhookID)
			}
		case d.Status == 401:
			unauthorized = append(unauthorized, d.WebhookID)
		}
		for name, on := range map[string]bool{"duplicate": d.Duplicate, "late": d.Late, "bad_signature": d.Status == 401, "malformed": d.Bad && d.Status == 200} {
			if on {
				stats[name]++
			}
		}
	}
	t.Logf("%d deliveries, %d webhooks acknowledged, faults %v", run.Total, len(acked), stats)
	for _, f := range []string{"duplicate", "late", "bad_signature", "malformed"} {
		if stats[f] == 0 {
			t.Errorf("the scenario has no %s deliveries", f)
		}
	}

	waitFor(t, "every acknowledged webhook processed or failed", func() bool {
		return processedCount(ctx, t, p.Pool, shop) == len(acked)
	})

	// Every acknowledged body is stored byte-exact, once.
	for id, body := range acked {
		events, err := p.Store.ReadStream(ctx, domain.WebhookStream(shop, id), 1)
		if err != nil {
			t.Fatalf("webhook %s: %v", id, err)
		}
		d, err := domain.DecodeEvent(events[0].Type, events[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.(domain.WebhookReceived).Body; !bytes.Equal(got, body) {
			t.Errorf("webhook %s: stored body differs from the delivered one", id)
		}
		// Then one outcome, and each further delivery recorded as a duplicate.
		var outcomes, duplicates int
		for _, e := range events[1:] {
			if e.Type == (domain.WebhookDuplicateReceived{}).EventType() {
				duplicates++
			} else {
				outcomes++
			}
		}
		if outcomes != 1 || duplicates != deliveries[id]-1 {
			t.Errorf("webhook %s: %d outcomes and %d duplicates recorded, want 1 and %d", id, outcomes, duplicates, deliveries[id]-1)
		}
	}
	for _, id := range unauthorized {
		if _, err := p.Store.ReadStream(ctx, domain.WebhookStream(shop, id), 1); err == nil {
			t.Errorf("401'd webhook %s was stored", id)
		}
	}
	// Malformed bodies are listed as failed, with a reason; everything else processed.
	rows, err := p.Pool.Query(ctx, `SELECT webhook_id, status, error FROM webhooks_view WHERE shop = $1`, shop)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for rows.Next() {
		var id, st, reason string
		if err := rows.Scan(&id, &st, &reason); err != nil {
			t.Fatal(err)
		}
		status[id] = st
		if st == app.WebhookStatusFailed && reason == "" {
			t.Errorf("webhook %s failed without a reason", id)
		}
	}
	for id := range acked {
		want := app.WebhookStatusProcessed
		if slices.Contains(malformed, id) {
			want = app.WebhookStatusFailed
		}
		if status[id] != want {
			t.Errorf("webhook %s is %q, want %q", id, status[id], want)
		}
	}

	waitUntilNone(t, "orders_view differs from the scenario", func() string {
		return testenv.CompareOrders(ctx, t, p.Pool, shop, run.Expected.Orders)
	})
	t.Logf("%d orders match the scenario's expected state", len(run.Expected.Orders))

	// Nothing is left pending: worker b claims what the crashed consumer and
	// worker a held, once it has idled for the claim time; until then, and
	// while b takes the outcome events the processing appended last (the
	// read models above may see them first), messages are pending.
	waitUntilNone(t, "messages still pending in "+group, func() string {
		pending, err := p.Redis.XPending(ctx, stream, group).Result()
		if err != nil {
			t.Fatal(err)
		}
		if pending.Count == 0 {
			return ""
		}
		return fmt.Sprintf("%d, held by %v", pending.Count, pending.Consumers)
	})
	var dead int
	if err := p.Pool.QueryRow(ctx, `SELECT count(*) FROM dead_letters`).Scan(&dead); err != nil || dead != 0 {
		t.Errorf("dead letters = %d, %v; want none", dead, err)
	}
	cancel()
	<-doneB
	<-roles
}

// openWithShop opens the platform of cfg with shop registered (USD, its
// webhooks signed with secret, Admin API token "shpat_" and the shop's
// name) and serves its API; both close when the test ends.
func openWithShop(ctx context.Context, t *testing.T, cfg config.Config, shop, secret string) (*platform.Platform, *httptest.Server) {
	t.Helper()
	p, err := platform.Open(ctx, cfg, platform.NewLogger("warn"), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if _, err := p.App().RegisterShop(ctx, shops.Registration{Domain: shop, Name: shop, Currency: "USD", WebhookSecrets: []string{secret},
		AccessToken: "shpat_" + strings.TrimSuffix(shop, ".myshopify.com")}, eventstore.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	return p, srv
}

// waitUntilNone waits up to a minute for check to report nothing, then fails
// with what it last reported.
func waitUntilNone(t *testing.T, what string, check func() string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		report := check()
		if report == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, report)
		}
	}
}

func processedCount(ctx context.Context, t *testing.T, pool *pgxpool.Pool, shop string) int {
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM webhooks_view WHERE shop = $1 AND status <> 'received'`, shop).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
