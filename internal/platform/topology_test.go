package platform_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ordermill/ordermill/internal/testenv"
)

// process is one `ordermill serve --roles ...` subprocess.
type process struct {
	name, roles string
	httpAddr    string // api only
	metricsAddr string
	logPath     string
	cmd         *exec.Cmd
	exited      chan error
}

func buildOrdermill(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ordermill")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/ordermill")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build ordermill: %v\n%s", err, out)
	}
	return bin
}

func startProcess(t *testing.T, bin string, env []string, name, roles string) *process {
	t.Helper()
	p := &process{name: name, roles: roles, exited: make(chan error, 1),
		logPath: filepath.Join(t.TempDir(), name+".log")}
	// Port 0: the process binds a port the system picks and logs it.
	env = append(env, "ORDERMILL_METRICS_ADDR=127.0.0.1:0", "ORDERMILL_HTTP_ADDR=127.0.0.1:0")
	logFile, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "serve", "--roles", roles)
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = env, logFile, logFile
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.exited <- p.cmd.Wait()
		logFile.Close()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	api := strings.Contains(roles, "api")
	waitFor(t, name+" to listen", func() bool {
		select {
		case err := <-p.exited:
			t.Fatalf("%s exited: %v\n%s", name, err, tail(p.log(t), 2000))
		default:
		}
		log := p.log(t)
		p.metricsAddr = testenv.ListenAddr(log, "metrics")
		if api {
			p.httpAddr = testenv.ListenAddr(log, "api")
		}
		return p.metricsAddr != "" && (!api || p.httpAddr != "")
	})
	waitFor(t, name+" to serve /healthz", func() bool {
		resp, err := http.Get("http://" + p.metricsAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	return p
}

func (p *process) metrics(t *testing.T) testenv.Metrics {
	t.Helper()
	return testenv.Scrape(t, "http://"+p.metricsAddr+"/metrics")
}

func (p *process) log(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// stop sends SIGTERM and expects a clean exit: HTTP drained, in-flight
// messages finished, the relay lock released.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("signal %s: %v", p.name, err)
	}
	if err := <-p.exited; err != nil {
		t.Errorf("%s did not shut down cleanly: %v\n%s", p.name, err, tail(p.log(t), 2000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

type simRun struct {
	ID         string
	Status     string
	Total      int
	Sent       int
	Unexpected int
	Deliveries []struct {
		WebhookID      string `json:"webhook_id"`
		Status         int    `json:"status"`
		ExpectedStatus int    `json:"expected_status"`
		Error          string `json:"error"`
	}
}

// TestTopology runs the platform as production does, one role set per
// process on loopback: 2 api, 2 relays (leader and standby), 2 workers and 1
// projectors process over one database and Redis prefix. The simulator sends
// Shopify webhooks to both api processes; half way the relay leader is
// killed with SIGKILL. Every webhook must still be captured and processed,
// the standby must take over, and both worker processes must have done work.
// With ORDERMILL_TEST_REDIS=cluster it runs on a Redis Cluster of its own
// (three masters, three replicas) instead of the shared Redis.
func TestTopology(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	redisURL, prefix := testenv.RedisURL(), ""
	if os.Getenv("ORDERMILL_TEST_REDIS") == "cluster" {
		cluster := testenv.StartRedisCluster(t)
		redisURL, prefix = cluster.URL(), "topology:"
		t.Logf("on %s", cluster)
	} else {
		_, prefix = testenv.Redis(t)
	}
	sim := testenv.StartSimulator(t)
	bin := buildOrdermill(t)
	env := append(os.Environ(),
		"ORDERMILL_DATABASE_URL="+dbURL,
		"ORDERMILL_DATABASE_READ_URL=",
		"ORDERMILL_REDIS_URL="+redisURL,
		"ORDERMILL_STREAM_PREFIX="+prefix,
		"ORDERMILL_AUTO_MIGRATE=false",
		"ORDERMILL_DATA_DIR="+t.TempDir(), // shared: one master key and JWT key for all processes
		"ORDERMILL_SHOPIFY_API_URL="+sim.URL,
		"ORDERMILL_SES_ENDPOINT="+sim.URL,
		"ORDERMILL_RATE_LIMIT_IP=off",
		"ORDERMILL_WORKER_CLAIM_IDLE=2s",
		"ORDERMILL_LOG_LEVEL=info",
	)
	const shop, secret, token = "topology.myshopify.com", "topology-secret", "topology-token"
	add := exec.Command(bin, "shops", "add", "--domain", shop, "--name", "Topology", "--currency", "EUR",
		"--webhook-secret", secret, "--access-token", token)
	add.Env = env
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ordermill shops add: %v\n%s", err, out)
	}
	if code := sim.Do(t, "POST", "/_sim/shops", map[string]string{"shop": shop, "access_token": token}, nil); code/100 != 2 {
		t.Fatalf("register shop with the simulator: %d", code)
	}

	relay1 := startProcess(t, bin, env, "relay-1", "relay")
	waitFor(t, "relay-1 to lead", func() bool {
		v, _ := relay1.metrics(t).Sum("ordermill_relay_leader", nil)
		return v == 1
	})
	relay2 := startProcess(t, bin, env, "relay-2", "relay")
	api1 := startProcess(t, bin, env, "api-1", "api")
	api2 := startProcess(t, bin, env, "api-2", "api")
	workers1 := startProcess(t, bin, env, "workers-1", "workers")
	workers2 := startProcess(t, bin, env, "workers-2", "workers")
	projectors := startProcess(t, bin, env, "projectors", "projectors")
	if v, _ := relay2.metrics(t).Sum("ordermill_relay_leader", nil); v != 0 {
		t.Fatalf("relay-2 leads while relay-1 holds the lock")
	}
	// Profiles are served to operators on the metrics address, never on the public one.
	for url, want := range map[string]int{
		"http://" + workers1.metricsAddr + "/debug/pprof/goroutine?debug=1": http.StatusOK,
		"http://" + api1.httpAddr + "/debug/pprof/goroutine?debug=1":        http.StatusNotFound,
	} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", url, resp.StatusCode, want)
		}
	}

	run := func(target *process, seed, orders int) string {
		var created struct{ ID string }
		if code := sim.Do(t, "POST", "/_sim/runs", map[string]any{
			"scenario": "orders", "shop": shop, "secret": secret, "target": "http://" + target.httpAddr,
			"orders": orders, "seed": seed, "concurrency": 4,
		}, &created); code != http.StatusCreated {
			t.Fatalf("start simulator run: %d", code)
		}
		return created.ID
	}
	finish := func(id string) simRun {
		var r simRun
		waitFor(t, "simulator run "+id, func() bool {
			sim.Do(t, "GET", "/_sim/runs/"+id, nil, &r)
			return r.Status == "done"
		})
		if r.Sent != r.Total || r.Unexpected != 0 {
			t.Errorf("run %s: sent %d of %d, %d unexpected answers", id, r.Sent, r.Total, r.Unexpected)
			for _, d := range r.Deliveries {
				if d.Status != d.ExpectedStatus {
					t.Fatalf("webhook %s: status %d, want %d (%s)", d.WebhookID, d.Status, d.ExpectedStatus, d.Error)
				}
			}
		}
		return r
	}

	// First half: one run at each api process.
	runs := []simRun{finish(run(api1, 1, 30)), finish(run(api2, 2, 30))}

	// Kill the leader mid-stream: a run is in flight while it dies.
	inFlight := run(api1, 3, 30)
	if err := relay1.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-relay1.exited
	waitFor(t, "relay-2 to take over", func() bool {
		v, _ := relay2.metrics(t).Sum("ordermill_relay_leader", nil)
		return v == 1
	})
	runs = append(runs, finish(inFlight), finish(run(api2, 4, 30)))

	acked := map[string]bool{}
	for _, r := range runs {
		for _, d := range r.Deliveries {
			if d.Status == http.StatusOK {
				acked[d.WebhookID] = true
			}
		}
	}
	if len(acked) == 0 {
		t.Fatal("no webhook was acknowledged")
	}
	pool := testenv.PoolFor(t, dbURL)
	var captured, processed, pending int
	waitFor(t, "every webhook to be processed", func() bool {
		err := pool.QueryRow(context.Background(), `SELECT
			(SELECT count(DISTINCT stream_id) FROM events WHERE stream_id LIKE 'webhook-%'),
			(SELECT count(*) FROM webhooks_view WHERE status = 'processed'),
			(SELECT count(*) FROM webhooks_view WHERE status <> 'processed')`).Scan(&captured, &processed, &pending)
		return err == nil && captured >= len(acked) && processed == captured
	})
	if captured != len(acked) || pending != 0 {
		t.Errorf("%d webhooks acknowledged, %d captured, %d processed, %d not processed", len(acked), captured, processed, pending)
	}

	// Work spread across both worker processes.
	var perWorker []float64
	for _, w := range []*process{workers1, workers2} {
		n, _ := w.metrics(t).Sum("ordermill_worker_attempts_total", map[string]string{"handler": "webhooks", "result": "ok"})
		perWorker = append(perWorker, n)
		if n == 0 {
			t.Errorf("%s processed no webhook", w.name)
		}
	}
	if perWorker[0]+perWorker[1] < float64(captured) {
		t.Errorf("worker processes report %v webhook runs for %d webhooks", perWorker, captured)
	}
	// The standby published after the takeover.
	published, _ := relay2.metrics(t).Sum("ordermill_relay_published_events_total", nil)
	if published == 0 {
		t.Error("relay-2 took the lock but published nothing")
	}
	// The api processes both answered webhooks.
	for _, a := range []*process{api1, api2} {
		n, _ := a.metrics(t).Sum("ordermill_http_request_duration_seconds", map[string]string{"route": "/webhooks/shopify", "status": "200"})
		if n == 0 {
			t.Errorf("%s acknowledged no webhook", a.name)
		}
	}
	t.Logf("%d webhooks (%d deliveries over 4 runs) captured and processed; webhook-stream events handled per worker process: %v; relay-2 published %v events after relay-1 was killed",
		captured, deliveries(runs), perWorker, published)

	// One correlation id finds the webhook's events and the worker's log lines.
	var correlation string
	if err := pool.QueryRow(context.Background(), `SELECT metadata->>'correlation_id' FROM events
		WHERE stream_id LIKE 'webhook-%' ORDER BY global_position LIMIT 1`).Scan(&correlation); err != nil || correlation == "" {
		t.Fatalf("webhook correlation id: %q %v", correlation, err)
	}
	var caused int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE metadata->>'correlation_id' = $1`,
		correlation).Scan(&caused); err != nil || caused < 2 {
		t.Errorf("correlation id %s finds %d events (%v), want the webhook and what it caused", correlation, caused, err)
	}

	// Graceful shutdown of every remaining process.
	for _, p := range []*process{api1, api2, workers1, workers2, projectors, relay2} {
		p.stop(t)
		if !strings.Contains(p.log(t), `"msg":"stopped"`) {
			t.Errorf("%s logged no clean stop", p.name)
		}
	}
}

func deliveries(runs []simRun) int {
	n := 0
	for _, r := range runs {
		n += len(r.Deliveries)
	}
	return n
}
