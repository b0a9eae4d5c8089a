package platform

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"golang.org/x/sync/errgroup"

	"github.com/ordermill/ordermill/api"
	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/migrations"
	"github.com/ordermill/ordermill/projections"
	"github.com/ordermill/ordermill/relay"
	"github.com/ordermill/ordermill/workers"
)

// Roles are the parts of the platform a process can run.
var Roles = []string{"api", "relay", "projectors", "workers"}

// ParseRoles validates a comma-separated role list.
func ParseRoles(list string) ([]string, error) {
	var roles []string
	for _, r := range strings.Split(list, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if !slices.Contains(Roles, r) {
			return nil, fmt.Errorf("unknown role %q (roles: %s)", r, strings.Join(Roles, ", "))
		}
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	if len(roles) == 0 {
		return nil, errors.New("no roles given")
	}
	return roles, nil
}

// Run runs the given roles until ctx ends or one of them fails.
func (p *Platform) Run(ctx context.Context, roles []string) error {
	// Relay processes take turns at the scheduled audit too: one at a time
	// (its own advisory lock), wherever the relay is deployed.
	var auditor *audit.Auditor
	if slices.Contains(roles, "relay") && p.Config.AuditInterval > 0 {
		var err error
		if auditor, err = p.Auditor(); err != nil {
			return err
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	if err := p.observeRoles(ctx, g, roles); err != nil {
		return err
	}
	if auditor != nil {
		g.Go(func() error { return auditor.Run(ctx) })
	}
	if slices.Contains(roles, "workers") && p.Config.ShopifySubscriptionsCheck > 0 {
		check := p.SubscriptionCheck()
		g.Go(func() error {
			if err := check.Run(ctx); !errors.Is(err, context.Canceled) {
				return fmt.Errorf("webhook subscription check: %w", err)
			}
			return nil
		})
	}
	for _, role := range roles {
		run := map[string]func(context.Context) error{
			"api":        p.runAPI,
			"relay":      p.RunRelay,
			"projectors": p.RunProjectors,
			"workers":    p.RunWorkers,
		}[role]
		if run == nil {
			return fmt.Errorf("unknown role %q", role)
		}
		g.Go(func() error {
			if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("%s: %w", role, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// ConsumerName identifies this process within Redis consumer groups.
func ConsumerName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

func (p *Platform) readinessChecks() []api.Check {
	return []api.Check{
		{Name: "postgres", Run: func(ctx context.Context) error { return p.Pool.Ping(ctx) }},
		{Name: "redis", Run: func(ctx context.Context) error { return p.Redis.Ping(ctx).Err() }},
		{Name: "migrations", Run: func(ctx context.Context) error {
			v, dirty, err := migrations.Version(p.Config.DatabaseURL)
			if err != nil {
				return err
			}
			if dirty || v != migrations.Latest() {
				return fmt.Errorf("schema at version %d (dirty %v), binary needs %d", v, dirty, migrations.Latest())
			}
			return nil
		}},
		{Name: "relay_leader", Run: func(ctx context.Context) error {
			ok, err := relay.LeaderElected(ctx, p.Pool)
			if err == nil && !ok {
				err = errors.New("no relay holds the leader lock")
			}
			return err
		}},
	}
}

// Handler is the api role's HTTP handler (tests serve it with httptest). If
// the signing key cannot be loaded it logs why and answers every request 503;
// the api role itself refuses to start in that case.
func (p *Platform) Handler() http.Handler {
	h, err := p.handler()
	if err != nil {
		p.Log.Error("api handler", "err", err)
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "access token signing key unavailable", http.StatusServiceUnavailable)
		})
	}
	return h
}

func (p *Platform) handler() (http.Handler, error) {
	keys, err := api.LoadKeys(p.Config.JWTKeyFile, p.Config.DataDir)
	if err != nil {
		return nil, err
	}
	limit := func(r config.Rate) redis_rate.Limit { return redis_rate.Limit{Rate: r.N, Burst: r.N, Period: r.Per} }
	deadLetters, err := p.DeadLetters()
	if err != nil {
		return nil, err
	}
	return api.NewRouter(api.Deps{
		Store: p.Store, ReadPool: p.ReadPool, Redis: p.Redis, Prefix: p.Config.StreamPrefix,
		Logger: p.Log, Checks: p.readinessChecks(),
		Keys: keys, BcryptCost: p.Config.BcryptCost, TrustedProxies: p.Config.TrustedProxies, WriteTimeout: p.Config.HTTPWriteTimeout,
		CORSOrigins: p.Config.CORSOrigins,
		Shops:       p.Shops, Shopify: p.installEndpoints(), Backfill: p.Reconciler(), WebhookMaxBytes: p.Config.WebhookMaxBytes, Webhooks: p.WebhookProcessor(), DeadLetters: deadLetters,
		ExplainDeadLetter: workers.ExplainDeadLetter,
		Limits: api.RateLimits{
			Principal: limit(p.Config.RateLimitUser), IP: limit(p.Config.RateLimitIP), Login: limit(p.Config.RateLimitLogin),
			WebhookFailures: limit(p.Config.RateLimitWebhookFailures), AuthFailures: limit(p.Config.RateLimitAuthFailures),
		},
		OperatorTokenHash: api.OperatorTokenHash(p.Config.OperatorToken),
		AuditInterval:     p.Config.AuditInterval, ShopifyAPIVersion: p.Config.ShopifyAPIVersion,
	}), nil
}

// APIServer serves h on the api role's address with its timeouts: a client
// that drips its request, reads its answer too slowly or idles on a
// keep-alive connection is cut off instead of holding the connection.
func (p *Platform) APIServer(h http.Handler) *http.Server {
	c := p.Config
	return &http.Server{
		Addr: c.HTTPAddr, Handler: h,
		ReadHeaderTimeout: min(10*time.Second, c.HTTPReadTimeout), ReadTimeout: c.HTTPReadTimeout,
		WriteTimeout: c.HTTPWriteTimeout, IdleTimeout: c.HTTPIdleTimeout,
	}
}

func (p *Platform) runAPI(ctx context.Context) error {
	h, err := p.handler()
	if err != nil {
		return err
	}
	srv := p.APIServer(h)
	ln, err := p.listen("api", srv)
	if err != nil {
		return err
	}
	return serve(ctx, srv, ln, p.Config.ShutdownTimeout)
}

// listen opens srv's address and logs the one it got: with port 0 the
// system picks a free port, so tests start processes without racing other
// processes for one.
func (p *Platform) listen(server string, srv *http.Server) (net.Listener, error) {
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return nil, fmt.Errorf("%s server: %w", server, err)
	}
	p.Log.Info("listening", "server", server, "addr", ln.Addr().String())
	return ln, nil
}

// serve serves srv on ln until ctx ends, then stops accepting and lets
// in-flight requests finish for at most drain.
func serve(ctx context.Context, srv *http.Server, ln net.Listener, drain time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// RunRelay runs the relay role: leader election, then events to Redis
// Streams, relay.PipelineDepth events per round trip (make bench, scenario 3).
func (p *Platform) RunRelay(ctx context.Context) error {
	pub := relay.NewPipelinePublisher(p.Redis)
	prefix := p.Config.StreamPrefix
	groups := append(projections.ConsumerGroups(prefix, projections.All(p.Redis, prefix)...),
		workers.ConsumerGroups(prefix, p.WorkerHandlers()...)...)
	return relay.NewRelay(p.Store, pub, relay.RelayConfig{TopicPrefix: prefix, Logger: p.Log,
		Follow:   relay.FollowOptions{Linger: p.Config.PipelineLinger},
		Recovery: &relay.RedisRecovery{Redis: p.Redis, Groups: groups}}).Run(ctx)
}

// RunProjectors runs every read model's projector.
func (p *Platform) RunProjectors(ctx context.Context) error {
	return projections.NewRunner(p.Pool, projections.RunnerConfig{
		Redis: p.Redis, TopicPrefix: p.Config.StreamPrefix, ConsumerName: ConsumerName(), Logger: p.Log,
		MaxRetries: p.maxRetries(), RetryInterval: p.Config.WorkerRetryInterval,
	}, projections.WithCipher(p.Cipher, projections.All(p.Redis, p.Config.StreamPrefix))...).Run(ctx)
}
