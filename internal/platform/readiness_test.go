package platform_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/relay"
)

// startRedis runs a throwaway redis-server on addr until stop is called.
func startRedis(t *testing.T, addr string) (stop func()) {
	t.Helper()
	_, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		t.Skipf("redis-server not available: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop = func() {
		_ = cmd.Process.Kill()
		<-done
	}
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			stop()
		}
	})
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	waitFor(t, "redis-server on "+addr, func() bool { return client.Ping(context.Background()).Err() == nil })
	return stop
}

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func readyz(t *testing.T, url string) (int, readiness) {
	t.Helper()
	resp, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r readiness
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, r
}

// TestReadinessFollowsRedis stops Redis under a running api and relay:
// readiness goes false naming Redis, a Shopify webhook is still captured,
// and when Redis returns readiness comes back and the relay publishes the
// webhook. Stopping the relay then releases its leader lock.
func TestReadinessFollowsRedis(t *testing.T) {
	addr := testenv.FreeAddr(t)
	stopRedis := startRedis(t, addr)
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL = testenv.DatabaseURL(t)
	cfg.DatabaseReadURL = cfg.DatabaseURL
	cfg.RedisURL = "redis://" + addr + "/0"
	cfg.StreamPrefix = "readiness:"
	cfg.DataDir = t.TempDir()
	cfg.JWTKeyFile, cfg.MetricsAddr = "", ""
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := platform.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	relayDone := make(chan error, 1)
	go func() { relayDone <- p.Run(ctx, []string{"relay"}) }()
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)

	const shop, secret = "ready.myshopify.com", "ready-secret"
	if _, err := p.App().RegisterShop(ctx, shops.Registration{Domain: shop, Name: "Ready", Currency: "EUR",
		WebhookSecrets: []string{secret}, AccessToken: "token"}, eventstore.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "readiness", func() bool { code, _ := readyz(t, srv.URL); return code == http.StatusOK })

	stopRedis()
	var r readiness
	waitFor(t, "readiness to fail without Redis", func() bool {
		var code int
		code, r = readyz(t, srv.URL)
		return code == http.StatusServiceUnavailable
	})
	if r.Checks["redis"] == "ok" || r.Checks["postgres"] != "ok" {
		t.Errorf("checks without Redis: %v", r.Checks)
	}

	// Capture touches Postgres only: it succeeds while Redis is down.
	body := []byte(`{"id": 1, "name": "#1001"}`)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/shopify", strings.NewReader(string(body)))
	for k, v := range map[string]string{
		"Content-Type": "application/json", "X-Shopify-Shop-Domain": shop, "X-Shopify-Topic": "orders/create",
		"X-Shopify-Webhook-Id": "wh-redis-down", "X-Shopify-Hmac-Sha256": base64.StdEncoding.EncodeToString(mac.Sum(nil)),
	} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook while Redis is down: %d", resp.StatusCode)
	}

	startRedis(t, addr)
	waitFor(t, "readiness to return with Redis", func() bool { code, _ := readyz(t, srv.URL); return code == http.StatusOK })
	waitFor(t, "the relay to publish the webhook captured while Redis was down", func() bool {
		n, err := p.Redis.XLen(ctx, relay.Topic(cfg.StreamPrefix, "webhook")).Result()
		return err == nil && n >= 1
	})

	// Graceful stop releases the leader lock, so a standby can take over at once.
	if ok, err := relay.LeaderElected(ctx, p.Pool); err != nil || !ok {
		t.Fatalf("leader elected before stop: %v %v", ok, err)
	}
	cancel()
	if err := <-relayDone; err != nil {
		t.Fatalf("relay stopped with %v", err)
	}
	if ok, err := relay.LeaderElected(context.Background(), p.Pool); err != nil || ok {
		t.Errorf("leader lock still held after the relay stopped: %v %v", ok, err)
	}
}
