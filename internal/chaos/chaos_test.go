package chaos_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/projections"
)

const (
	shop   = "chaos.myshopify.com"
	secret = "chaos-webhook-secret"
	token  = "chaos-access-token"
)

// node is one ordermill process of the topology.
type node struct {
	*testenv.Process
	roles, metrics, http string
}

func (n *node) get(path string) (string, error) {
	resp, err := http.Get("http://" + n.metrics + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func (n *node) leads() bool {
	m, err := n.get("/metrics")
	return err == nil && strings.Contains(m, "\nordermill_relay_leader 1")
}

// report is what the run found; lost and doubled must be zero.
type report struct {
	faults                        map[string]int
	crashRestarts                 int
	runs, deliveries, acked       int
	redelivered                   int
	lost, doubled, notExact       int
	orders                        int
	orderDiff                     string
	converged                     time.Duration
	readModelDiffs, deadLetters   []string
	events, streams, hashFindings int64
	republished                   int
}

func TestChaos(t *testing.T) {
	// make test runs it for 20 s (scripts/test.sh), make chaos for longer.
	setting := os.Getenv("ORDERMILL_CHAOS_DURATION")
	if setting == "" {
		t.Skip("set ORDERMILL_CHAOS_DURATION (make chaos) to run the fault-injection suite")
	}
	duration, err := time.ParseDuration(setting)
	if err != nil {
		t.Fatalf("ORDERMILL_CHAOS_DURATION: %v", err)
	}
	seed := time.Now().UnixNano()
	if v := os.Getenv("ORDERMILL_CHAOS_SEED"); v != "" {
		seed, _ = strconv.ParseInt(v, 10, 64)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("chaos for %s, ORDERMILL_CHAOS_SEED=%d", duration, seed)

	pg := testenv.StartPostgres(t)
	rds := startRedis(t, os.Getenv("ORDERMILL_CHAOS_REDIS"))
	// The Admin API's rate limit is not under test: reconciliation, which
	// heals what forged and malformed deliveries replaced, runs every 2 s.
	sim := testenv.StartSimulator(t, "--admin-bucket-size", "1000000", "--admin-restore-rate", "1000000")
	bin := testenv.Build(t, "./cmd/ordermill")
	dbURL := pg.URL("ordermill")
	env := append(os.Environ(),
		"ORDERMILL_DATABASE_URL="+dbURL, "ORDERMILL_DATABASE_READ_URL=", "ORDERMILL_REDIS_URL="+rds.URL(),
		"ORDERMILL_STREAM_PREFIX=chaos:", "ORDERMILL_AUTO_MIGRATE=false", "ORDERMILL_DATA_DIR="+t.TempDir(),
		"ORDERMILL_SHOPIFY_API_URL="+sim.URL, "ORDERMILL_SES_ENDPOINT="+sim.URL, "ORDERMILL_RATE_LIMIT_IP=off",
		"ORDERMILL_WORKER_CLAIM_IDLE=2s", "ORDERMILL_SHOPIFY_RECONCILE_INTERVAL=2s", "ORDERMILL_LOG_LEVEL=info",
	)
	for _, args := range [][]string{{"migrate", "up"}, {"shops", "add", "--domain", shop, "--name", "Chaos", "--currency", "EUR",
		"--webhook-secret", secret, "--access-token", token},
		{"users", "add", "--shop", shop, "--email", "owner@chaos.test", "--name", "Owner", "--role", "owner", "--password", "chaos-password"}} {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ordermill %s: %v\n%s", args[0], err, out)
		}
	}
	if code := sim.Do(t, "POST", "/_sim/shops", map[string]string{"shop": shop, "access_token": token}, nil); code/100 != 2 {
		t.Fatalf("register shop with the simulator: %d", code)
	}

	nodes := map[string]*node{}
	for _, n := range []struct{ name, roles string }{
		{"relay-1", "relay"}, {"relay-2", "relay"}, {"api-1", "api"}, {"api-2", "api"},
		{"workers-1", "workers"}, {"workers-2", "workers"}, {"projectors", "projectors"},
	} {
		nd := &node{roles: n.roles, metrics: testenv.FreeAddr(t)}
		penv := append(slices.Clone(env), "ORDERMILL_METRICS_ADDR="+nd.metrics)
		if n.roles == "api" {
			nd.http = testenv.FreeAddr(t)
			penv = append(penv, "ORDERMILL_HTTP_ADDR="+nd.http)
		}
		nd.Process = testenv.StartProcess(t, n.name, bin, penv, "serve", "--roles", n.roles)
		nodes[n.name] = nd
	}
	for name, n := range nodes {
		waitFor(t, name+" to serve /healthz", 2*time.Minute, func() bool { _, err := n.get("/healthz"); return err == nil })
	}
	for _, name := range []string{"api-1", "api-2"} {
		waitFor(t, name+" to answer HTTP", time.Minute, func() bool {
			resp, err := http.Get("http://" + nodes[name].http + "/healthz")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil
		})
	}
	stock(t, "http://"+nodes["api-1"].http)
	rep := report{faults: map[string]int{}}

	// A supervisor restarts whatever dies on its own (a role that gives up
	// on a lost database exits); faults it injects are marked down meanwhile.
	var (
		mu   sync.Mutex
		down = map[string]bool{}
	)
	superCtx, stopSuper := context.WithCancel(context.Background())
	superDone := make(chan struct{})
	go func() {
		defer close(superDone)
		for superCtx.Err() == nil {
			time.Sleep(200 * time.Millisecond)
			mu.Lock()
			for name, n := range nodes {
				if !down[name] && !n.Running() {
					t.Logf("%s exited on its own; restarting it:\n%s", name, tail(n.Log(), 1500))
					n.Start(t)
					rep.crashRestarts++
				}
			}
			mu.Unlock()
		}
	}()
	defer func() { stopSuper(); <-superDone }()

	// Steady load: back-to-back simulator runs at each api process.
	loadCtx, stopLoad := context.WithCancel(context.Background())
	var (
		runsMu sync.Mutex
		runs   []testenv.SimRun
		loadWG sync.WaitGroup
	)
	for i, api := range []*node{nodes["api-1"], nodes["api-2"]} {
		loadWG.Add(1)
		go func() {
			defer loadWG.Done()
			for n := 0; loadCtx.Err() == nil; n++ {
				var created struct{ ID string }
				if code := sim.Do(t, "POST", "/_sim/runs", map[string]any{
					"scenario": "orders", "shop": shop, "secret": secret, "target": "http://" + api.http,
					"orders": 6, "seed": seed%1_000_000 + int64(i*100_000+n), "concurrency": 2,
					// Orders change now, as in Shopify, so reconciliation's updated_at cursor finds them.
					"start":         time.Now().UTC(),
					"duplicate_pct": 10, "reorder_pct": 10, "bad_signature_pct": 5, "malformed_pct": 3,
				}, &created); code != http.StatusCreated {
					t.Errorf("start simulator run: %d", code)
					return
				}
				var r testenv.SimRun
				for deadline := time.Now().Add(5 * time.Minute); r.Status != "done"; time.Sleep(100 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Errorf("simulator run %s did not finish", created.ID)
						return
					}
					r = testenv.SimRun{}
					sim.Do(t, "GET", "/_sim/runs/"+created.ID, nil, &r)
				}
				runsMu.Lock()
				runs = append(runs, r)
				runsMu.Unlock()
			}
		}()
	}

	// Faults: every kind once in the short run, then at random.
	kinds := append([]string{"relay leader", "worker", "projectors", "api", "redis", "postgres"}, rds.extraFaults()...)
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	kill := func(name string) {
		mu.Lock()
		down[name] = true
		mu.Unlock()
		nodes[name].Kill()
		time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
		mu.Lock()
		nodes[name].Start(t)
		down[name] = false
		mu.Unlock()
	}
	gap := duration / time.Duration(len(kinds)+1)
	// Some faults take seconds (a failover waits for the replica to take
	// over), so every kind still comes once after the duration is up.
	for end, i := time.Now().Add(duration), 0; time.Now().Before(end) || i < len(kinds); i++ {
		time.Sleep(gap/2 + time.Duration(rng.Int64N(int64(gap))))
		kind := kinds[rng.IntN(len(kinds))]
		if i < len(kinds) {
			kind = kinds[i]
		}
		rep.faults[kind]++
		t.Logf("fault %d: %s", i+1, kind)
		switch kind {
		case "relay leader":
			leader := "relay-1"
			if nodes["relay-2"].leads() {
				leader = "relay-2"
			}
			kill(leader)
		case "worker":
			kill([]string{"workers-1", "workers-2"}[rng.IntN(2)])
		case "projectors":
			kill("projectors")
		case "api":
			kill([]string{"api-1", "api-2"}[rng.IntN(2)])
		case "redis":
			rds.Restart()
		case "redis failover":
			rds.Failover()
		case "postgres":
			pg.Restart()
		}
	}
	stopLoad()
	loadWG.Wait()

	// Shopify retries a failed delivery for 48 hours; the harness does it
	// once the faults stop, for every delivery that should have been taken.
	for _, r := range runs {
		rep.runs++
		for _, d := range r.Deliveries {
			rep.deliveries++
			if d.Status == http.StatusOK {
				rep.acked++
			} else if d.ExpectedStatus == http.StatusOK {
				redeliver(t, nodes["api-1"].http, d)
				rep.redelivered++
			}
		}
	}

	// Everything settles: every webhook processed, every projector at the head.
	log := slog.New(slog.DiscardHandler)
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL, cfg.DatabaseReadURL, cfg.RedisURL, cfg.StreamPrefix = dbURL, dbURL, rds.URL(), "chaos:"
	cfg.DataDir = envValue(env, "ORDERMILL_DATA_DIR")
	ctx := context.Background()
	p, err := platform.Open(ctx, cfg, log, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	projectors := projections.WithCipher(p.Cipher, projections.All(p.Redis, cfg.StreamPrefix))
	settle := func() {
		var state string
		for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
			if state = unsettled(p, projectors); state == "" {
				return
			}
			if time.Now().After(deadline) {
				for name, n := range nodes {
					t.Logf("%s log tail:\n%s", name, tail(n.Log(), 3000))
				}
				t.Fatalf("the platform did not settle: %s", state)
			}
		}
	}
	settle()
	stopSuper()
	<-superDone

	checkWebhooks(t, p, runs, &rep)
	// Every order ends as Shopify holds it, what forged or malformed
	// deliveries replaced included: reconciliation reads it from the Admin API.
	var expected []testenv.ExpectedOrder
	for _, r := range runs {
		expected = append(expected, r.Shopify.Orders...)
	}
	rep.orders = len(expected)
	started := time.Now()
	// A killed worker's reconciliation claim holds the shop back for up to a minute.
	for deadline := started.Add(3 * time.Minute); ; time.Sleep(time.Second) {
		if rep.orderDiff = testenv.CompareOrders(ctx, t, p.Pool, shop, expected); rep.orderDiff == "" || time.Now().After(deadline) {
			break
		}
	}
	rep.converged = time.Since(started).Round(time.Second)
	settle() // what reconciliation appended reaches every read model
	shown := 0
	for id := range testenv.OrderDiffs(ctx, t, p.Pool, shop, expected) {
		if shown++; shown <= 3 {
			t.Log(testenv.OrderTrail(ctx, t, p.Pool, shop, id, runs))
		}
	}

	shadow, err := projections.OpenShadow(ctx, p.Pool)
	if err != nil {
		t.Fatal(err)
	}
	defer shadow.Close()
	// Reconciliation keeps running: a snapshot it applies while a rebuild
	// runs reaches the live read model and not the rebuild, so a comparison
	// counts only when no event was appended meanwhile.
	for attempt := 1; ; attempt++ {
		head := lastPosition(ctx, t, p)
		rep.readModelDiffs = nil
		for _, pr := range projectors {
			if _, err := shadow.Rebuild(ctx, pr, nil); err != nil {
				t.Fatalf("shadow rebuild of %s: %v", pr.Name(), err)
			}
			diffs, err := shadow.Diff(ctx, pr, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range diffs {
				if !d.Same() {
					rep.readModelDiffs = append(rep.readModelDiffs, fmt.Sprintf("%s: %+v", d.Table, d))
				}
			}
		}
		if moved := lastPosition(ctx, t, p) != head; !moved || attempt == 3 {
			break
		}
		t.Logf("events were appended during the rebuild (attempt %d); comparing again once settled", attempt)
		settle()
	}
	rows, err := p.Pool.Query(ctx, `SELECT handler || ' ' || stream_id || ': ' || error FROM dead_letters`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		rep.deadLetters = append(rep.deadLetters, s)
	}
	v, err := audit.New(p.Store).Verify(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep.events, rep.streams, rep.hashFindings = v.Events, v.Streams, int64(len(v.Findings))
	for _, name := range []string{"relay-1", "relay-2"} {
		rep.republished += strings.Count(nodes[name].Log(), "redis lost published events; republishing")
	}

	t.Logf(`chaos report (seed %d, %s of faults)
  ran on:                 PostgreSQL %s; %s
  faults injected:        %d %v (plus %d restarts of processes that exited on their own)
  simulator runs:         %d, %d deliveries, %d acknowledged with 200, %d re-sent after the faults
  acknowledged but lost:  %d
  not byte-exact:         %d
  stored twice/doubled:   %d
  orders checked:         %d against Shopify's final state, equal %s after the load, differences: %q
  read models vs rebuild: %d differing tables
  dead letters:           %d
  relay republished:      %d times after Redis lost data
  hash chain:             %d events in %d streams, %d findings`,
		seed, duration, pg.Addr, rds, total(rep.faults), rep.faults, rep.crashRestarts, rep.runs, rep.deliveries, rep.acked, rep.redelivered,
		rep.lost, rep.notExact, rep.doubled, rep.orders, rep.converged, rep.orderDiff, len(rep.readModelDiffs), len(rep.deadLetters),
		rep.republished, rep.events, rep.streams, rep.hashFindings)
	if rep.acked == 0 || rep.orders == 0 {
		t.Fatal("the load generated nothing to check")
	}
	if rep.lost+rep.notExact+rep.doubled != 0 || rep.orderDiff != "" || rep.hashFindings != 0 {
		t.Errorf("the platform broke a promise (see the report)")
	}
	for _, d := range rep.readModelDiffs {
		t.Errorf("read model differs from a fresh rebuild: %s", d)
	}
	// The scenario fails nothing on purpose in a worker (malformed payloads
	// are recorded as webhook.failed, not retried), so any dead letter is a fault.
	for _, d := range rep.deadLetters {
		t.Errorf("unexpected dead letter: %s", d)
	}
}

// stock counts plenty of every item of the simulator's catalogue (keyed by
// SKU, or by variant when the SKU is null), so that no shipment is refused
// for want of stock: that would be a dead letter no fault caused.
func stock(t *testing.T, api string) {
	t.Helper()
	post := func(path, token string, body string) *http.Response {
		req, err := http.NewRequest(http.MethodPost, api+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post("/auth/login", "", `{"shop":"`+shop+`","email":"owner@chaos.test","password":"chaos-password"}`)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	err := json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if err != nil || login.AccessToken == "" {
		t.Fatalf("log in: %d %v", resp.StatusCode, err)
	}
	for _, key := range []string{"BEAN-CHR", "TOTE-NAT", "MUG-350", "variant-44020394000104", "SOCK-3PK", "NOTE-A5",
		"variant-44020394000107", "PLNT-CER"} {
		resp := post("/api/v1/inventory/"+key+"/count", login.AccessToken, `{"on_hand":1000000,"reason":"chaos stock"}`)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("count %s: %d", key, resp.StatusCode)
		}
	}
}

// redeliver posts d again, as Shopify's retry would, until it is taken.
func redeliver(t *testing.T, api string, d testenv.SimDelivery) {
	t.Helper()
	waitFor(t, "webhook "+d.WebhookID+" to be taken", 2*time.Minute, func() bool {
		req, err := http.NewRequest(http.MethodPost, "http://"+api+"/webhooks/shopify", bytes.NewReader(d.Body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]string{"Content-Type": "application/json", "X-Shopify-Topic": d.Topic,
			"X-Shopify-Shop-Domain": d.Shop, "X-Shopify-Webhook-Id": d.WebhookID, "X-Shopify-Event-Id": d.EventID,
			"X-Shopify-Triggered-At": d.TriggeredAt, "X-Shopify-Hmac-Sha256": d.HMAC} {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// unsettled says what is still in flight: a captured webhook not yet
// processed, a projector behind an event of its categories, or new events
// appearing meanwhile; "" means the platform is at rest.
func unsettled(p *platform.Platform, projectors []projections.Projector) string {
	ctx := context.Background()
	var before, after, unprocessed int64
	if err := p.Pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&before); err != nil {
		return err.Error()
	}
	for _, pr := range projectors {
		var (
			behind  int64
			example string
		)
		err := p.Pool.QueryRow(ctx, `SELECT count(*), coalesce(min(e.stream_id), '') FROM
			(SELECT stream_id, max(stream_version) AS v FROM events WHERE split_part(stream_id, '-', 1) = ANY($2) GROUP BY stream_id) e
			LEFT JOIN projection_streams ps ON ps.projection = $1 AND ps.stream_id = e.stream_id
			WHERE coalesce(ps.version, 0) < e.v`, pr.Name(), pr.Categories()).Scan(&behind, &example)
		if err != nil || behind != 0 {
			var detail string
			_ = p.Pool.QueryRow(ctx, `SELECT string_agg(stream_version || ' ' || event_type || ' at ' || transaction_id::text || '.' || global_position, '; ' ORDER BY stream_version)
				|| ' | checkpoints: ' || (SELECT string_agg(name || '=' || transaction_id::text || '.' || global_position, ', ') FROM checkpoints)
				FROM events WHERE stream_id = $1`, example).Scan(&detail)
			return fmt.Sprintf("projector %s behind on %d streams (%v), e.g. %s: %s", pr.Name(), behind, err, example, detail)
		}
	}
	if err := p.Pool.QueryRow(ctx, `SELECT
		(SELECT count(DISTINCT stream_id) FROM events WHERE stream_id LIKE 'webhook-%')
		- (SELECT count(*) FROM webhooks_view WHERE status <> 'received')`).Scan(&unprocessed); err != nil || unprocessed != 0 {
		var detail string
		_ = p.Pool.QueryRow(ctx, `SELECT coalesce(string_agg(e.stream_id || ' at ' || e.transaction_id::text || '.' || e.global_position, '; '), '')
			|| ' | dead letters: ' || (SELECT count(*) FROM dead_letters)
			|| ' | checkpoints: ' || (SELECT string_agg(name || '=' || transaction_id::text || '.' || global_position, ', ') FROM checkpoints)
			FROM events e WHERE e.stream_id LIKE 'webhook-%' AND e.stream_version = 1
			AND NOT EXISTS (SELECT 1 FROM webhooks_view w WHERE w.stream_id = e.stream_id AND w.status <> 'received')`).Scan(&detail)
		return fmt.Sprintf("%d webhooks not processed (%v): %s", unprocessed, err, detail)
	}
	if err := p.Pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&after); err != nil || after != before {
		return "events still being appended"
	}
	return ""
}

// checkWebhooks compares what the simulator was told with what is stored:
// every 200 is a webhook.received with the very bytes sent, and no
// delivery, whatever its answer, was stored or processed twice.
func checkWebhooks(t *testing.T, p *platform.Platform, runs []testenv.SimRun, rep *report) {
	t.Helper()
	ctx := context.Background()
	checked := map[string]bool{}
	for _, r := range runs {
		for _, d := range r.Deliveries {
			if d.Status != http.StatusOK || checked[d.WebhookID] {
				continue
			}
			checked[d.WebhookID] = true
			events, err := p.Store.ReadStream(ctx, domain.WebhookStream(d.Shop, d.WebhookID), 1)
			if err != nil {
				t.Logf("acknowledged webhook %s: %v", d.WebhookID, err)
				rep.lost++
				continue
			}
			e, err := domain.DecodeEvent(events[0].Type, events[0].Data)
			wh, ok := e.(domain.WebhookReceived)
			if err != nil || !ok || !bytes.Equal(wh.Body, d.Body) {
				t.Logf("webhook %s: stored body differs from the one acknowledged (%v)", d.WebhookID, err)
				rep.notExact++
			}
		}
	}
	var doubled int
	if err := p.Pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT stream_id FROM events
		WHERE stream_id LIKE 'webhook-%' AND event_type IN ('webhook.received', 'webhook.processed', 'webhook.failed')
		GROUP BY stream_id, event_type HAVING count(*) > 1) d`).Scan(&doubled); err != nil {
		t.Fatal(err)
	}
	rep.doubled += doubled
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func envValue(env []string, name string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v
		}
	}
	return ""
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// lastPosition is the global position of the newest event.
func lastPosition(ctx context.Context, t *testing.T, p *platform.Platform) int64 {
	t.Helper()
	var n int64
	if err := p.Pool.QueryRow(ctx, `SELECT coalesce(max(global_position), 0) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
