// Package platform wires one Ordermill process: its connections and the roles
// it runs (api, relay, projectors, workers). The server and the tests start
// roles the same way.
package platform

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/database"
	"github.com/ordermill/ordermill/internal/privacy"
	"github.com/ordermill/ordermill/internal/secrets"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/internal/telemetry"
	"github.com/ordermill/ordermill/migrations"
	"github.com/ordermill/ordermill/shopify"
)

// Platform holds the connections every role shares within one process.
type Platform struct {
	Config   config.Config
	Log      *slog.Logger
	Pool     *pgxpool.Pool
	ReadPool *pgxpool.Pool
	Redis    redis.UniversalClient
	Store    *eventstore.Store
	// MasterKey seals secrets at rest; Shops holds the shops' credentials.
	MasterKey *secrets.Key
	Shops     *shops.Registry
	// Keys holds the data keys that seal personal data (docs/privacy.md);
	// Cipher, the Store's, seals and opens it with them.
	Keys   *privacy.Keyring
	Cipher *privacy.Cipher
	// Metrics holds this platform's collectors (pools, lag, streams); the
	// process-wide metrics stay in Prometheus's default registry.
	Metrics *prometheus.Registry
}

// App is the use cases over this platform's store and shop registry.
func (p *Platform) App() *app.App { return app.New(p.Store).WithShops(p.Shops) }

// NewLogger returns the JSON logger every process uses; lines logged with a
// request's or message's context carry its ids (telemetry.WithAttrs).
func NewLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(telemetry.ContextHandler{Handler: slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})})
}

// RedisLogger writes what go-redis logs by itself (connection trouble) into
// the process's JSON log rather than as bare lines on stderr.
type RedisLogger struct{ Log *slog.Logger }

// Printf logs one go-redis message as a warning.
func (l RedisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.Log.WarnContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}

// Open connects to Postgres (migrating first when asked) and Redis.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, migrate bool) (*Platform, error) {
	p := &Platform{Config: cfg, Log: log}
	if err := database.EnsureExists(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	if migrate {
		if err := migrations.Up(cfg.DatabaseURL); err != nil {
			return nil, err
		}
	}
	var err error
	if p.Pool, err = database.Open(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	p.ReadPool = p.Pool
	if cfg.DatabaseReadURL != cfg.DatabaseURL {
		if p.ReadPool, err = database.Open(ctx, cfg.DatabaseReadURL); err != nil {
			p.Pool.Close()
			return nil, fmt.Errorf("read replica: %w", err)
		}
	}
	if p.Redis, err = OpenRedis(cfg.RedisURL); err != nil {
		p.Close()
		return nil, err
	}
	p.Store = eventstore.New(p.Pool)
	p.Store.SetWakeInterval(cfg.PipelineLinger)
	if p.MasterKey, err = secrets.LoadKey(cfg.MasterKey, cfg.DataDir); err != nil {
		p.Close()
		return nil, fmt.Errorf("ORDERMILL_MASTER_KEY: %w", err)
	}
	p.Shops = shops.NewRegistry(p.Pool, p.MasterKey)
	p.Shops.SetRenewer(&shopify.TokenClient{App: p.ShopifyApp()})
	p.Keys = privacy.NewKeyring(p.Pool, p.MasterKey)
	p.Cipher = privacy.NewCipher(p.Keys)
	p.Store.SetCipher(p.Cipher)
	pools := map[string]*pgxpool.Pool{"primary": p.Pool}
	if p.ReadPool != p.Pool {
		pools["read"] = p.ReadPool
	}
	p.Metrics = prometheus.NewRegistry()
	p.Metrics.MustRegister(telemetry.NewPoolCollector(pools))
	return p, nil
}

// OpenRedis accepts redis:// (one server) or a comma-separated list of
// redis:// addresses (Redis Cluster) through go-redis's universal client.
func OpenRedis(url string) (redis.UniversalClient, error) {
	var addrs []string
	var opts *redis.Options
	for _, u := range strings.Split(url, ",") {
		o, err := redis.ParseURL(strings.TrimSpace(u))
		if err != nil {
			return nil, fmt.Errorf("ORDERMILL_REDIS_URL: %w", err)
		}
		addrs = append(addrs, o.Addr)
		opts = o
	}
	// Every Redis Streams consumer holds a connection while its XREADGROUP
	// blocks, and a process runs several consumers per handler.
	return redis.NewUniversalClient(&redis.UniversalOptions{
		PoolSize:  128,
		Addrs:     addrs,
		DB:        opts.DB,
		Username:  opts.Username,
		Password:  opts.Password,
		TLSConfig: opts.TLSConfig,
	}), nil
}

// Close releases every connection.
func (p *Platform) Close() {
	if p.Redis != nil {
		p.Redis.Close()
	}
	if p.ReadPool != nil && p.ReadPool != p.Pool {
		p.ReadPool.Close()
	}
	if p.Pool != nil {
		p.Pool.Close()
	}
}
