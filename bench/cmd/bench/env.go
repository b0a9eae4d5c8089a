package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/shops"
)

// The shop every scenario's webhooks and orders belong to.
const (
	benchShop   = "bench.myshopify.com"
	benchSecret = "bench-webhook-secret"
)

// env is one scenario's own platform: a fresh migrated database on the
// configured server and a fresh Redis key prefix, both removed by close.
type env struct {
	cfg    config.Config
	p      *platform.Platform
	dbName string
	srv    *http.Server
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newEnv(ctx context.Context, base config.Config) (*env, error) {
	id := randomHex(4)
	cfg := base
	u, err := url.Parse(cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	e := &env{dbName: "ordermill_bench_" + id}
	u.Path = "/" + e.dbName
	cfg.DatabaseURL = withAppName(u.String(), loadApp)
	cfg.DatabaseReadURL = cfg.DatabaseURL
	cfg.StreamPrefix = "bench:" + id + ":"
	if cfg.DataDir, err = os.MkdirTemp("", "ordermill-bench"); err != nil {
		return nil, err
	}
	// An explicit master key, so a server subprocess decrypts the shop's
	// webhook secret that this process registered.
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg.MasterKey = base64.StdEncoding.EncodeToString(key)
	cfg.LogLevel = "error"
	// Rate limits would cap the load at 50 req/s per user; they are measured
	// by their own tests, not here.
	cfg.RateLimitUser, cfg.RateLimitIP = config.Rate{}, config.Rate{}
	e.cfg = cfg
	if e.p, err = platform.Open(ctx, cfg, platform.NewLogger(cfg.LogLevel), true); err != nil {
		e.close()
		return nil, err
	}
	_, err = e.p.App().RegisterShop(ctx, shops.Registration{Domain: benchShop, Name: "Bench", Currency: "USD",
		WebhookSecrets: []string{benchSecret}, AccessToken: "shpat_bench"}, eventstore.Metadata{Actor: "bench"})
	if err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// serve answers the api role's handler on a loopback port and returns its URL.
func (e *env) serve() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	e.srv = &http.Server{Handler: e.p.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// environ is the server configuration for a subprocess sharing this env.
func (e *env) environ(addr, metricsAddr string) []string {
	db := withAppName(e.cfg.DatabaseURL, platformApp)
	return append(os.Environ(),
		"ORDERMILL_DATABASE_URL="+db, "ORDERMILL_DATABASE_READ_URL="+db,
		"ORDERMILL_REDIS_URL="+e.cfg.RedisURL, "ORDERMILL_STREAM_PREFIX="+e.cfg.StreamPrefix,
		"ORDERMILL_HTTP_ADDR="+addr, "ORDERMILL_METRICS_ADDR="+metricsAddr, "ORDERMILL_AUTO_MIGRATE=false",
		"ORDERMILL_LOG_LEVEL=error", "ORDERMILL_DATA_DIR="+e.cfg.DataDir, "ORDERMILL_MASTER_KEY="+e.cfg.MasterKey,
		"ORDERMILL_RATE_LIMIT_USER=off", "ORDERMILL_RATE_LIMIT_IP=off")
}

// The application names that tell, in pg_stat_activity, the platform's
// connections from the bench's own (the load generator, the watcher, the
// cost meter).
const (
	platformApp = "ordermill"
	loadApp     = "ordermill-bench"
)

// withAppName is dbURL with its connections named app.
func withAppName(dbURL, app string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return dbURL // the caller's own parse reports it
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String()
}

func (e *env) close() {
	if e.srv != nil {
		_ = e.srv.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if e.p != nil {
		iter := e.p.Redis.Scan(ctx, 0, e.cfg.StreamPrefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			e.p.Redis.Del(ctx, iter.Val())
		}
		e.p.Close()
	}
	if err := dropDatabase(ctx, e.cfg.DatabaseURL, e.dbName); err != nil {
		fmt.Fprintln(os.Stderr, "bench: drop database:", err)
	}
	os.RemoveAll(e.cfg.DataDir)
}

func dropDatabase(ctx context.Context, dbURL, name string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return err
	}
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// statusError reports an unexpected HTTP answer.
func statusError(resp *http.Response, want int) error {
	if resp.StatusCode == want {
		return nil
	}
	return errors.New(resp.Status)
}
