// Package config reads Ordermill's settings from the environment. Every
// setting has a default that works on a developer machine.
package config

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Config is every setting the server reads.
type Config struct {
	Env             string // EnvDevelopment or EnvProduction
	DatabaseURL     string
	DatabaseReadURL string
	RedisURL        string
	StreamPrefix    string
	HTTPAddr        string
	MetricsAddr     string

	HTTPReadTimeout  time.Duration
	HTTPWriteTimeout time.Duration
	HTTPIdleTimeout  time.Duration

	AutoMigrate     bool
	ShutdownTimeout time.Duration
	// MemoryLimit is a server's soft memory limit in bytes (0: none).
	MemoryLimit   int64
	LogLevel      string
	DataDir       string
	MasterKey     string
	ShopifyAPIURL string
	// ShopifyAPIVersion is the Admin API version every call names.
	ShopifyAPIVersion string
	// The Shopify app: its Dev Dashboard credentials, the scopes it asks
	// for, where merchants reach it, and how often subscriptions are checked.
	AppURL                    string
	ShopifyClientID           string
	ShopifyClientSecret       string
	ShopifyScopes             []string
	ShopifySubscriptionsCheck time.Duration // 0: never
	// ShopifyReconcileInterval is how often each shop's orders are read back
	// from Shopify to heal missed webhooks; 0 never.
	ShopifyReconcileInterval time.Duration
	SESEndpoint              string
	EmailFrom                string
	JWTKeyFile               string
	BcryptCost               int
	RateLimitUser            Rate
	RateLimitIP              Rate
	RateLimitLogin           Rate
	// Failed credentials per client IP: bad webhook signatures and bad bearer tokens.
	RateLimitWebhookFailures Rate
	RateLimitAuthFailures    Rate
	TrustedProxies           []string
	CORSOrigins              []string
	OperatorToken            string

	// AuditInterval is how often the log is verified and, with a key,
	// checkpoints signed and exported; 0 never.
	AuditInterval     time.Duration
	CheckpointKeyFile string
	CheckpointExport  string

	WebhookMaxBytes     int64
	WorkerClaimIdle     time.Duration
	WorkerMaxRetries    int
	WorkerConcurrency   int
	WorkerRetryInterval time.Duration
	// PipelineLinger is how long the relay lets events gather after a read
	// that found few.
	PipelineLinger time.Duration
}

// Rate is a request budget: N requests per Per. Zero N means unlimited.
type Rate struct {
	N   int
	Per time.Duration
}

// ParseRate reads "50/s", "10/m", "1000/h" or "off".
func ParseRate(s string) (Rate, error) {
	if s == "off" {
		return Rate{}, nil
	}
	n, unit, ok := strings.Cut(s, "/")
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	count, err := strconv.Atoi(n)
	if !ok || per == 0 || err != nil || count <= 0 {
		return Rate{}, fmt.Errorf("rate %q: want <count>/s, /m or /h, or off", s)
	}
	return Rate{N: count, Per: per}, nil
}

// parseMemory reads "512MiB", "2GiB" or "off" (0).
func parseMemory(s string) (int64, error) {
	if s == "off" {
		return 0, nil
	}
	unit := map[string]int64{"MiB": 1 << 20, "GiB": 1 << 30}[strings.TrimLeft(s, "0123456789")]
	n, err := strconv.ParseInt(strings.TrimRight(s, "MGiB"), 10, 64)
	if unit == 0 || err != nil || n <= 0 {
		return 0, fmt.Errorf("want a size like 512MiB or 2GiB, or off, got %q", s)
	}
	return n * unit, nil
}

// Var describes one environment variable for --help.
type Var struct {
	Name, Default, Help string
}

// Vars lists every variable, its default and meaning, in the order --help shows them.
var Vars = []Var{
	{"ORDERMILL_ENV", EnvDevelopment, "development or production; production refuses to start on development settings and says which (docs/security.md)"},
	{"ORDERMILL_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ordermill?sslmode=disable", "PostgreSQL primary (the event store); the database is created if missing"},
	{"ORDERMILL_DATABASE_READ_URL", "", "optional read replica for read-model queries (defaults to the primary)"},
	{"ORDERMILL_REDIS_URL", "redis://127.0.0.1:6379/0", "Redis for streams, caches, refresh tokens and rate limits"},
	{"ORDERMILL_STREAM_PREFIX", "ordermill:", "prefix of every Redis key and stream this deployment uses"},
	{"ORDERMILL_HTTP_ADDR", ":8080", "address the API server listens on"},
	{"ORDERMILL_METRICS_ADDR", "", "operators' address serving /metrics, /healthz and /debug/pprof for every role (empty: not served); the API's address answers 404 for them"},
	{"ORDERMILL_HTTP_READ_TIMEOUT", "15s", "longest time to read a whole request, body included: a client dripping its body is cut off"},
	{"ORDERMILL_HTTP_WRITE_TIMEOUT", "30s", "longest time from a request's headers to the end of its answer (exports extend it while they keep moving)"},
	{"ORDERMILL_HTTP_IDLE_TIMEOUT", "90s", "how long a keep-alive connection may wait for its next request (keep it above a proxy's upstream keepalive)"},
	{"ORDERMILL_AUTO_MIGRATE", "true", "apply pending migrations when serve starts"},
	{"ORDERMILL_SHUTDOWN_TIMEOUT", "15s", "how long shutdown waits for in-flight work"},
	{"ORDERMILL_MEMORY_LIMIT", "512MiB", "soft limit of a server process's memory (MiB or GiB; off: none), which the Go collector keeps to by working harder near it; servers collect at GOGC=400 unless GOGC is set, and GOMEMLIMIT, when set, wins over this"},
	{"ORDERMILL_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"ORDERMILL_DATA_DIR", ".run", "where local keys are generated when none are configured"},
	{"ORDERMILL_MASTER_KEY", "", "base64 32-byte key that encrypts secrets and data keys (generated into the data dir when empty)"},
	{"ORDERMILL_SHOPIFY_API_URL", "", "base URL of the Shopify Admin API (empty: https://<shop>); the demo points it at the simulator"},
	{"ORDERMILL_SHOPIFY_API_VERSION", "2026-10", "Shopify Admin API version every call names (YYYY-MM, a quarterly release); Shopify supports each for 12 months"},
	{"ORDERMILL_APP_URL", "http://localhost:8080", "public base URL of the app: Shopify redirects installs to <url>/shopify/callback and sends webhooks to <url>/webhooks/shopify"},
	{"ORDERMILL_SHOPIFY_CLIENT_ID", DemoShopifyClientID, "the Shopify app's client id (Dev Dashboard); the default is the demo app the simulator knows"},
	{"ORDERMILL_SHOPIFY_CLIENT_SECRET", DemoShopifyClientSecret, "the Shopify app's client secret: verifies installs, session tokens and webhooks; the default is the demo app's"},
	{"ORDERMILL_SHOPIFY_SCOPES", "read_orders,write_orders,read_fulfillments,write_fulfillments,read_merchant_managed_fulfillment_orders,write_merchant_managed_fulfillment_orders,read_inventory,write_inventory,read_products,read_locations", "comma-separated Admin API access scopes the app asks for on install"},
	{"ORDERMILL_SHOPIFY_SUBSCRIPTIONS_CHECK", "10m", "how often installed shops' webhook subscriptions are checked and the ones Shopify dropped re-created (off: never)"},
	{"ORDERMILL_SHOPIFY_RECONCILE_INTERVAL", "5m", "how often the workers read each shop's recently updated orders back from Shopify and apply what webhooks missed (a missed webhook heals within about twice this; off: never)"},
	{"ORDERMILL_SES_ENDPOINT", "", "base endpoint of SES v2 (empty: AWS); the demo points it at the simulator"},
	{"ORDERMILL_EMAIL_FROM", "orders@ordermill.test", "sender address of outgoing email"},
	{"ORDERMILL_WEBHOOK_MAX_BYTES", "1048576", "largest Shopify webhook body accepted (larger: 413)"},
	{"ORDERMILL_WORKER_CLAIM_IDLE", "30s", "how long a dead worker's pending messages wait before another worker claims them"},
	{"ORDERMILL_WORKER_MAX_RETRIES", "3", "retries (exponential backoff) of a failing worker or projector before the event is dead-lettered"},
	{"ORDERMILL_WORKER_RETRY_INTERVAL", "200ms", "first retry backoff of a worker or projector; it doubles per retry"},
	{"ORDERMILL_WORKER_CONCURRENCY", "4", "consumers each worker handler runs per process (the stock worker runs one: its batches decide on the same few stock items)"},
	{"ORDERMILL_PIPELINE_LINGER", "150ms", "after a read that found less than a full batch, how long the relay lets events gather before reading again; it publishes each read at once, and the projectors and workers handle it as one batch, so that a quiet deployment handles several events per wake-up and commit. An event waits at most this much longer each time it passes the relay (twice before an order shows), none under load (0: no wait)"},
	{"ORDERMILL_JWT_KEY_FILE", "", "PEM RSA private key that signs access tokens (empty: generated into the data dir as jwt.pem)"},
	{"ORDERMILL_BCRYPT_COST", "10", "bcrypt cost of new password hashes"},
	{"ORDERMILL_RATE_LIMIT_USER", "50/s", "requests per user or API token (n/s, n/m, n/h or off)"},
	{"ORDERMILL_RATE_LIMIT_IP", "20/s", "requests per client IP to unauthenticated endpoints"},
	{"ORDERMILL_RATE_LIMIT_LOGIN", "10/m", "sign-in attempts per client IP, across all accounts (failures per account and IP also wait, doubling)"},
	{"ORDERMILL_RATE_LIMIT_WEBHOOK_FAILURES", "60/m", "webhooks with an unknown shop or a bad signature per client IP; past it they answer 429 (valid ones never do)"},
	{"ORDERMILL_RATE_LIMIT_AUTH_FAILURES", "60/m", "rejected bearer tokens per client IP; past it they answer 429 (valid ones never do)"},
	{"ORDERMILL_TRUSTED_PROXIES", "", "comma-separated proxy IPs or CIDRs whose X-Forwarded-For is trusted"},
	{"OTEL_EXPORTER_OTLP_ENDPOINT", "", "OpenTelemetry collector (OTLP over HTTP, like http://collector:4318): when set, request and worker spans are exported there; the exporter's other OTEL_* variables apply"},
	{"ORDERMILL_CORS_ORIGINS", "", "comma-separated origins (https://app.example.com) whose browser code may call the API, or * for any; empty: CORS off"},
	{"ORDERMILL_OPERATOR_TOKEN", "", "bearer token of the platform operator's API (verify the whole log, rebuild read models), at least 32 characters; empty: operator API off, use the CLI"},
	{"ORDERMILL_AUDIT_INTERVAL", "1h", "how often one process verifies the whole log and, with a checkpoint key, signs and exports a checkpoint (off: never)"},
	{"ORDERMILL_CHECKPOINT_KEY_FILE", "", "Ed25519 private key (PEM, from ordermill-replay checkpoint keygen) that signs checkpoints on schedule; empty: verify only"},
	{"ORDERMILL_CHECKPOINT_EXPORT", "", "file each signed checkpoint is appended to as a JSON line, kept outside the database"},
}

// The demo Shopify app, which the simulator knows: its client secret is
// also the demo shop's webhook secret, since Shopify signs an app's
// webhooks with the app's client secret.
const (
	DemoShopifyClientID     = "ordermill-demo-app"
	DemoShopifyClientSecret = "demo-webhook-secret"
)

// Deployment profiles (ORDERMILL_ENV).
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// apiVersion matches Shopify's quarterly release names.
var apiVersion = regexp.MustCompile(`^20[0-9]{2}-(01|04|07|10)$`)

// MinOperatorTokenLen keeps the operator's token out of guessing range.
const MinOperatorTokenLen = 32

// Load reads the environment, applying defaults.
func Load() (Config, error) {
	get := func(name string) string {
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		for _, v := range Vars {
			if v.Name == name {
				return v.Default
			}
		}
		panic("config: undeclared variable " + name)
	}
	c := Config{
		Env:               get("ORDERMILL_ENV"),
		DatabaseURL:       get("ORDERMILL_DATABASE_URL"),
		DatabaseReadURL:   get("ORDERMILL_DATABASE_READ_URL"),
		RedisURL:          get("ORDERMILL_REDIS_URL"),
		StreamPrefix:      get("ORDERMILL_STREAM_PREFIX"),
		HTTPAddr:          get("ORDERMILL_HTTP_ADDR"),
		MetricsAddr:       get("ORDERMILL_METRICS_ADDR"),
		LogLevel:          get("ORDERMILL_LOG_LEVEL"),
		DataDir:           get("ORDERMILL_DATA_DIR"),
		MasterKey:         get("ORDERMILL_MASTER_KEY"),
		ShopifyAPIURL:     get("ORDERMILL_SHOPIFY_API_URL"),
		ShopifyAPIVersion: get("ORDERMILL_SHOPIFY_API_VERSION"),
		AppURL:            strings.TrimRight(get("ORDERMILL_APP_URL"), "/"),
		SESEndpoint:       get("ORDERMILL_SES_ENDPOINT"),
		EmailFrom:         get("ORDERMILL_EMAIL_FROM"),
		JWTKeyFile:        get("ORDERMILL_JWT_KEY_FILE"),
		OperatorToken:     get("ORDERMILL_OPERATOR_TOKEN"),

		ShopifyClientID:     get("ORDERMILL_SHOPIFY_CLIENT_ID"),
		ShopifyClientSecret: get("ORDERMILL_SHOPIFY_CLIENT_SECRET"),

		CheckpointKeyFile: get("ORDERMILL_CHECKPOINT_KEY_FILE"),
		CheckpointExport:  get("ORDERMILL_CHECKPOINT_EXPORT"),
	}
	if c.Env != EnvDevelopment && c.Env != EnvProduction {
		return c, fmt.Errorf("ORDERMILL_ENV: %q is not %s or %s", c.Env, EnvDevelopment, EnvProduction)
	}
	if !apiVersion.MatchString(c.ShopifyAPIVersion) {
		return c, fmt.Errorf("ORDERMILL_SHOPIFY_API_VERSION: want a release like 2026-10 (January, April, July or October), got %q", c.ShopifyAPIVersion)
	}
	if n := len(c.OperatorToken); n > 0 && n < MinOperatorTokenLen {
		return c, fmt.Errorf("ORDERMILL_OPERATOR_TOKEN: %d characters, want at least %d", n, MinOperatorTokenLen)
	}
	var err error
	if v := get("ORDERMILL_SHOPIFY_RECONCILE_INTERVAL"); v != "off" {
		if c.ShopifyReconcileInterval, err = time.ParseDuration(v); err != nil || c.ShopifyReconcileInterval <= 0 {
			return c, fmt.Errorf("ORDERMILL_SHOPIFY_RECONCILE_INTERVAL: want a positive duration like 5m, or off, got %q", v)
		}
	}
	if c.AutoMigrate, err = strconv.ParseBool(get("ORDERMILL_AUTO_MIGRATE")); err != nil {
		return c, fmt.Errorf("ORDERMILL_AUTO_MIGRATE: %w", err)
	}
	if c.ShutdownTimeout, err = time.ParseDuration(get("ORDERMILL_SHUTDOWN_TIMEOUT")); err != nil {
		return c, fmt.Errorf("ORDERMILL_SHUTDOWN_TIMEOUT: %w", err)
	}
	if c.MemoryLimit, err = parseMemory(get("ORDERMILL_MEMORY_LIMIT")); err != nil {
		return c, fmt.Errorf("ORDERMILL_MEMORY_LIMIT: %w", err)
	}
	for name, dst := range map[string]*time.Duration{
		"ORDERMILL_HTTP_READ_TIMEOUT": &c.HTTPReadTimeout, "ORDERMILL_HTTP_WRITE_TIMEOUT": &c.HTTPWriteTimeout,
		"ORDERMILL_HTTP_IDLE_TIMEOUT": &c.HTTPIdleTimeout,
	} {
		if *dst, err = time.ParseDuration(get(name)); err != nil || *dst <= 0 {
			return c, fmt.Errorf("%s: want a positive duration like 30s, got %q", name, get(name))
		}
	}
	if c.BcryptCost, err = strconv.Atoi(get("ORDERMILL_BCRYPT_COST")); err != nil || c.BcryptCost < 4 || c.BcryptCost > 31 {
		return c, fmt.Errorf("ORDERMILL_BCRYPT_COST: want 4 to 31, got %q", get("ORDERMILL_BCRYPT_COST"))
	}
	for name, dst := range map[string]*Rate{
		"ORDERMILL_RATE_LIMIT_USER": &c.RateLimitUser, "ORDERMILL_RATE_LIMIT_IP": &c.RateLimitIP,
		"ORDERMILL_RATE_LIMIT_LOGIN": &c.RateLimitLogin, "ORDERMILL_RATE_LIMIT_WEBHOOK_FAILURES": &c.RateLimitWebhookFailures,
		"ORDERMILL_RATE_LIMIT_AUTH_FAILURES": &c.RateLimitAuthFailures,
	} {
		if *dst, err = ParseRate(get(name)); err != nil {
			return c, fmt.Errorf("%s: %w", name, err)
		}
	}
	for _, p := range strings.Split(get("ORDERMILL_TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	if c.CORSOrigins, err = parseOrigins(get("ORDERMILL_CORS_ORIGINS")); err != nil {
		return c, fmt.Errorf("ORDERMILL_CORS_ORIGINS: %w", err)
	}
	if c.WebhookMaxBytes, err = strconv.ParseInt(get("ORDERMILL_WEBHOOK_MAX_BYTES"), 10, 64); err != nil || c.WebhookMaxBytes <= 0 {
		return c, fmt.Errorf("ORDERMILL_WEBHOOK_MAX_BYTES: want a positive number of bytes, got %q", get("ORDERMILL_WEBHOOK_MAX_BYTES"))
	}
	if c.WorkerClaimIdle, err = time.ParseDuration(get("ORDERMILL_WORKER_CLAIM_IDLE")); err != nil {
		return c, fmt.Errorf("ORDERMILL_WORKER_CLAIM_IDLE: %w", err)
	}
	if c.WorkerMaxRetries, err = strconv.Atoi(get("ORDERMILL_WORKER_MAX_RETRIES")); err != nil || c.WorkerMaxRetries < 0 {
		return c, fmt.Errorf("ORDERMILL_WORKER_MAX_RETRIES: want a number >= 0, got %q", get("ORDERMILL_WORKER_MAX_RETRIES"))
	}
	if c.WorkerConcurrency, err = strconv.Atoi(get("ORDERMILL_WORKER_CONCURRENCY")); err != nil || c.WorkerConcurrency < 1 {
		return c, fmt.Errorf("ORDERMILL_WORKER_CONCURRENCY: want a number >= 1, got %q", get("ORDERMILL_WORKER_CONCURRENCY"))
	}
	if c.WorkerRetryInterval, err = time.ParseDuration(get("ORDERMILL_WORKER_RETRY_INTERVAL")); err != nil {
		return c, fmt.Errorf("ORDERMILL_WORKER_RETRY_INTERVAL: %w", err)
	}
	if c.PipelineLinger, err = time.ParseDuration(get("ORDERMILL_PIPELINE_LINGER")); err != nil || c.PipelineLinger < 0 {
		return c, fmt.Errorf("ORDERMILL_PIPELINE_LINGER: want a duration >= 0, got %q", get("ORDERMILL_PIPELINE_LINGER"))
	}
	if u, err := url.Parse(c.AppURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("ORDERMILL_APP_URL: want the app's public base URL like https://app.example.com, got %q", c.AppURL)
	}
	if c.ShopifyClientID == "" || c.ShopifyClientSecret == "" {
		return c, fmt.Errorf("ORDERMILL_SHOPIFY_CLIENT_ID and ORDERMILL_SHOPIFY_CLIENT_SECRET must not be empty")
	}
	for _, sc := range strings.Split(get("ORDERMILL_SHOPIFY_SCOPES"), ",") {
		if sc = strings.TrimSpace(sc); sc != "" {
			c.ShopifyScopes = append(c.ShopifyScopes, sc)
		}
	}
	if v := get("ORDERMILL_SHOPIFY_SUBSCRIPTIONS_CHECK"); v != "off" {
		if c.ShopifySubscriptionsCheck, err = time.ParseDuration(v); err != nil || c.ShopifySubscriptionsCheck <= 0 {
			return c, fmt.Errorf("ORDERMILL_SHOPIFY_SUBSCRIPTIONS_CHECK: want a positive duration or off, got %q", v)
		}
	}
	if v := get("ORDERMILL_AUDIT_INTERVAL"); v != "off" {
		if c.AuditInterval, err = time.ParseDuration(v); err != nil || c.AuditInterval <= 0 {
			return c, fmt.Errorf("ORDERMILL_AUDIT_INTERVAL: want a positive duration or off, got %q", v)
		}
	}
	if c.DatabaseReadURL == "" {
		c.DatabaseReadURL = c.DatabaseURL
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return c, fmt.Errorf("ORDERMILL_LOG_LEVEL: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	return c, nil
}

// parseOrigins reads a comma-separated list of browser origins: "*", or
// scheme://host[:port] exactly as browsers send it in the Origin header.
func parseOrigins(list string) ([]string, error) {
	var origins []string
	for _, o := range strings.Split(list, ",") {
		o = strings.ToLower(strings.TrimSpace(o))
		if o == "" {
			continue
		}
		if o != "*" {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
				(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
				return nil, fmt.Errorf("%q is not an origin: want * or scheme://host[:port], like https://app.example.com", o)
			}
			o = u.Scheme + "://" + u.Host
		}
		origins = append(origins, o)
	}
	return origins, nil
}

// PrintVars writes the variable table for --help.
func PrintVars(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tMEANING")
	for _, v := range Vars {
		d := v.Default
		if d == "" {
			d = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, d, v.Help)
	}
	tw.Flush()
}
