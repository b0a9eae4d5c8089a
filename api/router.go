// Package api is Ordermill's HTTP port: the Gin router, authentication,
// authorization, the REST API under /api/v1, Shopify webhook intake and the SPA.
// Handlers decode, call the domain or the event store, and encode; business
// rules live in domain.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/shops"
)

// Deps is what the API needs from the process.
type Deps struct {
	Store    *eventstore.Store
	ReadPool *pgxpool.Pool // read models; a replica when configured
	Redis    redis.UniversalClient
	Prefix   string // Redis key prefix
	Logger   *slog.Logger
	Checks   []Check

	Keys           *Keys      // signs and verifies access tokens
	Limits         RateLimits // zero fields switch that limit off
	BcryptCost     int        // 0: bcrypt.DefaultCost (tests use bcrypt.MinCost)
	TrustedProxies []string   // proxies whose X-Forwarded-For is believed; none by default
	// WriteTimeout is the server's; downloads that keep moving extend it.
	WriteTimeout time.Duration
	CORSOrigins  []string // browser origins allowed to call the API ("*": any); none by default

	Shops           *shops.Registry  // shop credentials; verifies webhooks
	Shopify         *ShopifyApp      // the install endpoints; nil: off
	WebhookMaxBytes int64            // 0: DefaultWebhookMaxBytes
	Webhooks        WebhookProcessor // re-runs webhook processing on redeliver
	DeadLetters     *bus.DeadLetters // lists and re-queues what workers gave up on
	// ExplainDeadLetter says what a dead letter means to a merchant
	// (workers.ExplainDeadLetter: the workers know what their failures mean).
	ExplainDeadLetter func(bus.DeadLetter) bus.DeadLetterExplanation

	// OperatorTokenHash is OperatorTokenHash(ORDERMILL_OPERATOR_TOKEN); nil
	// leaves the operator routes to nobody (the CLI does their work).
	OperatorTokenHash []byte

	// AuditInterval is ORDERMILL_AUDIT_INTERVAL (0: off), shown on the audit page.
	AuditInterval time.Duration
	// ShopifyAPIVersion is the Admin API version calls name, shown in settings.
	ShopifyAPIVersion string
	// Backfill reports the install backfill's progress; nil: never started.
	Backfill app.Reconciliation
}

// WebhookProcessor processes stored webhooks again on request: the workers'
// webhook processor, handed in by the platform.
type WebhookProcessor interface {
	// Redeliver processes the webhook of stream again, unless it was processed.
	Redeliver(ctx context.Context, stream string) (app.WebhookOutcome, error)
	// DryRun returns the outcome and the appends processing it now would
	// make, writing nothing.
	DryRun(ctx context.Context, stream string) (app.WebhookOutcome, []eventstore.StreamAppend, error)
}

// server carries the dependencies every handler uses; each feature file
// registers its routes from NewRouter.
type server struct {
	Deps
	app             *app.App
	limiter         *redis_rate.Limiter
	placeholderHash []byte           // see newPlaceholderHash
	positions       *positionWatcher // X-Min-Position waits
}

func newServer(d Deps) *server {
	uses := app.New(d.Store).WithShops(d.Shops)
	if d.Shopify != nil && d.Shopify.Admin != nil && d.Shops != nil {
		uses.WithShopify(shopifyAccess(d.Shopify.Admin, d.Shops))
	}
	return &server{Deps: d, app: uses, limiter: redis_rate.NewLimiter(d.Redis), placeholderHash: newPlaceholderHash(d.BcryptCost)}
}

// NewRouter builds the HTTP handler for the api role.
func NewRouter(d Deps) Handler {
	gin.SetMode(gin.ReleaseMode)
	s := newServer(d)
	s.positions = newPositionWatcher(d.Store.Pool(), d.ReadPool, d.Logger)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// Client IPs key rate limits, so X-Forwarded-For counts only from known proxies.
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		d.Logger.Error("trusted proxies ignored", "err", err)
		_ = r.SetTrustedProxies(nil)
	}
	r.Use(requestID(), observe(), traceRequests(), securityHeaders(), cors(d.CORSOrigins), recovery(d.Logger), accessLog(d.Logger))
	r.NoRoute(func(c *gin.Context) { abortProblem(c, http.StatusNotFound, "no such resource") })
	r.NoMethod(noMethod())

	r.GET("/healthz", healthz)
	r.GET("/readyz", readyz(d.Checks))
	s.identityRoutes(r)
	s.installRoutes(r)
	r.GET("/api/v1/openapi.json", s.serveOpenAPI)
	v1 := r.Group("/api/v1", s.authenticate())
	s.orderRoutes(v1)
	s.inventoryRoutes(v1)
	s.webhookRoutes(r, v1)
	s.shopRoutes(v1)
	s.shopSettingsRoutes(v1)
	s.backfillRoutes(v1)
	s.deadLetterRoutes(v1)
	s.reportRoutes(v1)
	s.emailRoutes(v1)
	s.auditRoutes(v1)
	s.operatorRoutes(r)
	s.statusRoutes(v1)
	serveSPA(r) // after every route: only unmatched paths reach the app
	return Handler{r}
}

// contentSecurityPolicy lets the SPA load its own bundle and call this origin only.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; " +
	"base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets browser protections on every response. CORS is
// closed unless origins are configured (see cors); the SPA is served from
// this same origin.
func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		c.Next()
	}
}

const requestIDHeader = "X-Request-Id"

// requestID keeps a caller's request id (when sane) or makes one, and echoes it.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(requestIDHeader)
		if len(id) == 0 || len(id) > 64 {
			id = uuid.NewString()
		}
		c.Set("request_id", id)
		c.Header(requestIDHeader, id)
		c.Next()
	}
}

func recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				log.ErrorContext(c.Request.Context(), "panic in handler", "panic", v, "path", c.Request.URL.Path,
					"request_id", c.GetString("request_id"))
				abortProblem(c, http.StatusInternalServerError, "internal error")
			}
		}()
		c.Next()
	}
}

func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		log.LogAttrs(c.Request.Context(), slog.LevelInfo, "http request",
			slog.String("method", c.Request.Method),
			slog.String("route", c.FullPath()),
			slog.Int("status", c.Writer.Status()),
			slog.Duration("duration", time.Since(start)),
			slog.String("request_id", c.GetString("request_id")),
		)
	}
}
