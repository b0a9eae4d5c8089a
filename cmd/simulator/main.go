// Command simulator stands in for Shopify and AWS SES v2 during tests and
// demos: it sends signed webhooks to a target, serves the GraphQL Admin API
// with Shopify's rate limit, accepts SES SendEmail calls, and exposes a JSON
// control API under /_sim/ to drive scenarios and inject faults.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

type config struct {
	addr    string
	dropPct float64
	admin   adminConfig
	trickle trickleConfig
}

const usage = `Usage: simulator [flags]

A local stand-in for Shopify and AWS SES v2.

Endpoints:
  POST /admin/api/{version}/graphql.json   Shopify GraphQL Admin API: orders, webhook subscriptions, shop; the mutations
                                           orderCancel, orderMarkAsPaid, orderUpdate, refundCreate, fulfillmentCreate and
                                           inventoryAdjustQuantities, which send the webhooks Shopify would
  GET  /admin/oauth/authorize              OAuth grant screen (approves at once; ?shop= names the shop)
  POST /admin/oauth/access_token           token endpoint: code, refresh_token, token exchange, client credentials
                                           (X-Shopify-Shop-Domain names the shop)
  POST /v2/email/outbound-emails           SES v2 SendEmail
  /_sim/...                                control API (runs, faults, shops, recorded calls, webhooks of mutations)

Trickle mode (enabled by --trickle-target) sends a new order every interval
and, for earlier orders, their later payments, fulfilments, cancellations
and refunds, as Shopify would.

Flags:
`

func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8090", "listen address")
	versions := fs.String("api-versions", strings.Join(defaultAPIVersions, ","), "supported Admin API versions, comma-separated; older ones fall forward to the oldest, others answer 404")
	fs.Float64Var(&c.admin.bucketSize, "admin-bucket-size", 1000, "Admin API leaky bucket size in cost points, per shop")
	fs.Float64Var(&c.admin.restoreRate, "admin-restore-rate", 50, "Admin API cost points restored per second")
	fs.StringVar(&c.admin.oauth.clientID, "app-client-id", "ordermill-demo-app", "client id of the app that installs through OAuth")
	fs.StringVar(&c.admin.oauth.clientSecret, "app-client-secret", "demo-webhook-secret", "client secret of that app; it signs the redirects and the webhooks sent to its subscriptions")
	fs.DurationVar(&c.admin.oauth.accessTTL, "oauth-access-ttl", time.Hour, "lifetime of expiring offline access tokens")
	fs.DurationVar(&c.admin.oauth.refreshTTL, "oauth-refresh-ttl", 90*24*time.Hour, "lifetime of their refresh tokens")
	fs.Float64Var(&c.dropPct, "webhook-drop-pct", 0, "percentage of the webhooks of Admin API mutations and of the trickle that are never delivered, as Shopify sometimes fails to (reconciliation heals them)")
	fs.StringVar(&c.trickle.target, "trickle-target", "", "base URL to trickle webhooks to, e.g. http://127.0.0.1:8080 (trickle is off when empty)")
	fs.StringVar(&c.trickle.shop, "trickle-shop", "demo.myshopify.com", "shop domain for trickled webhooks")
	fs.StringVar(&c.trickle.secret, "trickle-secret", "demo-webhook-secret", "webhook secret used to sign trickled webhooks")
	fs.StringVar(&c.trickle.accessToken, "trickle-access-token", "", "Admin API access token to register for the trickle shop (none when empty)")
	fs.DurationVar(&c.trickle.interval, "trickle-interval", 4*time.Second, "time between trickle ticks (at least 1s)")
	// The flag package reports its own parse errors; ours are printed here.
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.admin.versions = strings.Split(*versions, ",")
	slices.Sort(c.admin.versions)
	if err := validateConfig(c, fs.Args()); err != nil {
		fmt.Fprintln(out, "simulator:", err)
		return c, err
	}
	return c, nil
}

func validateConfig(c config, rest []string) error {
	switch {
	case len(rest) > 0:
		return fmt.Errorf("unexpected arguments: %v", rest)
	case slices.ContainsFunc(c.admin.versions, func(v string) bool { return !apiVersionPattern.MatchString(v) }):
		return fmt.Errorf("--api-versions: want releases like 2026-10, got %v", c.admin.versions)
	case c.admin.bucketSize <= 0 || c.admin.restoreRate <= 0:
		return errors.New("--admin-bucket-size and --admin-restore-rate must be positive")
	case c.admin.oauth.clientID == "" || c.admin.oauth.clientSecret == "":
		return errors.New("--app-client-id and --app-client-secret must not be empty")
	case c.admin.oauth.accessTTL <= 0 || c.admin.oauth.refreshTTL <= 0:
		return errors.New("--oauth-access-ttl and --oauth-refresh-ttl must be positive")
	case c.trickle.target != "" && !validTarget(c.trickle.target):
		return errors.New("--trickle-target must be an http(s) base URL")
	case c.trickle.target != "" && (!validHost(c.trickle.shop) || c.trickle.secret == ""):
		return errors.New("--trickle-shop and --trickle-secret are required with --trickle-target")
	case !validPct(c.dropPct):
		return errors.New("--webhook-drop-pct must be between 0 and 100")
	case c.trickle.interval < time.Second:
		// Shopify timestamps have second resolution; faster ticks could give
		// two snapshots of one order the same updated_at.
		return errors.New("--trickle-interval must be at least 1s")
	}
	return nil
}

// simulator holds the state shared by the fake Shopify and SES endpoints.
type simulator struct {
	log    *slog.Logger
	ctx    context.Context // bounds background runs
	sender *sender
	orders *orderStore
	admin  *adminAPI
	ses    *sesService

	mu      sync.Mutex
	runs    map[string]*run
	targets map[string]runTarget // per shop, its last run's
	emitted []*delivery          // webhooks of mutations
	dropPct float64              // share of mutation and trickle webhooks lost
}

func newSimulator(ctx context.Context, log *slog.Logger, cfg adminConfig) *simulator {
	orders := newOrderStore()
	s := &simulator{
		log:     log,
		ctx:     ctx,
		sender:  &sender{client: &http.Client{Timeout: 10 * time.Second}, backoff: 100 * time.Millisecond},
		orders:  orders,
		admin:   newAdminAPI(cfg, orders, time.Now),
		ses:     &sesService{now: time.Now, fault: sesFault{FailTo: []string{}, Status: http.StatusBadRequest}},
		runs:    map[string]*run{},
		targets: map[string]runTarget{},
	}
	s.admin.emit = s.emit
	return s
}

func (s *simulator) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_sim/runs", s.createRun)
	mux.HandleFunc("GET /_sim/runs/{id}", s.getRun)
	mux.HandleFunc("POST /_sim/faults", s.setFaults)
	mux.HandleFunc("POST /_sim/shops", s.registerShop)
	mux.HandleFunc("GET /_sim/admin/calls", s.adminCalls)
	mux.HandleFunc("GET /_sim/deliveries", s.deliveries)
	mux.HandleFunc("DELETE /_sim/admin/calls", s.clearAdminCalls)
	mux.HandleFunc("GET /_sim/ses/messages", s.sesMessages)
	mux.HandleFunc("DELETE /_sim/ses/messages", s.clearSESMessages)
	mux.HandleFunc("POST /admin/api/{version}/graphql.json", s.admin.serveGraphQL)
	mux.HandleFunc("GET /admin/oauth/authorize", s.admin.apps.authorize)
	mux.HandleFunc("POST /admin/oauth/access_token", s.admin.apps.accessToken)
	mux.HandleFunc("POST /_sim/apps", s.registerOwnApp)
	mux.HandleFunc("GET /_sim/shops/{shop}/subscriptions", s.listSubscriptions)
	mux.HandleFunc("GET /_sim/shops/{shop}/orders", s.shopOrders)
	mux.HandleFunc("DELETE /_sim/shops/{shop}/subscriptions/{topic...}", s.dropSubscription)
	mux.HandleFunc("POST /_sim/shops/{shop}/uninstall", s.uninstall)
	mux.HandleFunc("POST /_sim/shops/{shop}/expire-tokens", s.expireTokens)
	mux.HandleFunc("POST /v2/email/outbound-emails", s.ses.serveSendEmail)
	return mux
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := serve(cfg, log); err != nil {
		log.Error("simulator stopped", "err", err)
		os.Exit(1)
	}
}

func serve(cfg config, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	sim := newSimulator(ctx, log, cfg.admin)
	sim.dropPct = cfg.dropPct
	if t := cfg.trickle; t.target != "" {
		if t.accessToken != "" {
			sim.admin.registerShop(t.shop, t.accessToken)
		}
		log.Info("trickle on", "target", t.target, "shop", t.shop, "interval", t.interval)
		go sim.trickle(ctx, t)
	}
	srv := &http.Server{Handler: sim.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("simulator listening", "addr", ln.Addr().String())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
