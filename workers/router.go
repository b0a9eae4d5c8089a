// Package workers runs Ordermill's background handlers: the Shopify webhook
// processor, Shopify and SES calls and reports. Each handler consumes event
// categories from Redis Streams in its own consumer group, with retries, a
// dead-letter stream and idempotent, event-recorded outcomes.
package workers

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/telemetry"
)

// Handler is one worker: a function of an event, fed the events of its
// categories. It must be idempotent, because delivery is at-least-once: its
// outcome events get deterministic ids (see Outcome) or are appended at an
// expected version, so a redelivered event changes nothing. An error is
// retried with backoff and then dead-lettered (see package bus).
type Handler struct {
	Name       string
	Categories []string
	Handle     func(ctx context.Context, e eventstore.Event) error
	// HandleBatch, when set instead of Handle, takes events in batches and
	// returns an error for each, nil for done. Retries and dead letters work
	// per event as with Handle.
	HandleBatch func(ctx context.Context, events []eventstore.Event) []error
	// Serial runs one consumer of the handler per process, for a handler
	// whose events decide on a few hot aggregates (stock items) that
	// concurrent consumers would only fight over.
	Serial bool
}

// Config configures a Router.
type Config struct {
	Redis        redis.UniversalClient
	Pool         *pgxpool.Pool // where dead letters are recorded
	TopicPrefix  string
	ConsumerName string // unique per process, e.g. platform.ConsumerName()
	// ClaimIdle is how long a dead consumer's pending messages wait before
	// another consumer of the group claims them (default 30s).
	ClaimIdle time.Duration
	// MaxRetries is how often a failed event is retried before it is
	// dead-lettered (ORDERMILL_WORKER_MAX_RETRIES, 3 by default).
	MaxRetries int // 0: bus.DefaultMaxRetries; bus.NoRetries: none
	// RetryInterval is the first backoff; it doubles per retry (default 200ms).
	RetryInterval time.Duration
	// Concurrency is how many consumers each handler runs in this process
	// (default 4). A consumer handles one event, or one batch of a batch
	// handler, at a time; handlers are idempotent and their writes retry on
	// version conflicts, so running several is safe.
	Concurrency int
	Logger      *slog.Logger
}

// maxBatch bounds the events a batch handler takes at once.
const maxBatch = 100

// maxEachBatch bounds the events a handler of one event at a time reads and
// acknowledges at once. It still handles them one by one, each with its own
// retries; reading them together spares a quiet deployment a Redis read and
// acknowledgement per event (and lets the bus's linger gather them).
const maxEachBatch = 32

func consumerGroup(prefix, handler string) string { return prefix + "worker." + handler }

// Router runs handlers on the bus, each in its own consumer group.
type Router struct {
	cfg      Config
	handlers []Handler
}

// NewRouter returns a router for handlers.
func NewRouter(cfg Config, handlers ...Handler) *Router {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	for _, h := range handlers {
		startMetrics(h.Name)
	}
	return &Router{cfg: cfg, handlers: handlers}
}

// Run consumes until ctx ends. Messages in flight when it stops stay pending
// in Redis and are claimed by another consumer after ClaimIdle.
func (r *Router) Run(ctx context.Context) error {
	return bus.Run(ctx, bus.Config{Redis: r.cfg.Redis, Pool: r.cfg.Pool, TopicPrefix: r.cfg.TopicPrefix,
		ConsumerName: r.cfg.ConsumerName, ClaimIdle: r.cfg.ClaimIdle, MaxRetries: r.cfg.MaxRetries,
		RetryInterval: r.cfg.RetryInterval, Logger: r.cfg.Logger}, busHandlers(r.cfg.TopicPrefix, r.cfg.Concurrency, r.handlers)...)
}

// busHandlers are handlers as the bus runs them: a batch handler takes up to
// maxBatch events at once, any other up to maxEachBatch, handled one by one.
func busHandlers(prefix string, consumers int, handlers []Handler) []bus.Handler {
	out := make([]bus.Handler, len(handlers))
	for i, h := range handlers {
		out[i] = bus.Handler{Name: h.Name, Group: consumerGroup(prefix, h.Name), Categories: h.Categories,
			MaxBatch: maxEachBatch, Consumers: consumers, Handle: h.handleEach}
		if h.HandleBatch != nil {
			out[i].MaxBatch, out[i].Handle = maxBatch, h.handleBatch
		}
		if h.Serial {
			out[i].Consumers = 1
		}
	}
	return out
}

var tracer = telemetry.Tracer("workers")

func (h Handler) handleBatch(ctx context.Context, events []eventstore.Event) []error {
	start := time.Now()
	errs := h.HandleBatch(ctx, events)
	for _, err := range errs {
		observeAttempt(h.Name, err)
	}
	observeExecution(h.Name, start, errs...)
	return errs
}

func (h Handler) handleEach(ctx context.Context, events []eventstore.Event) []error {
	errs := make([]error, len(events))
	for i, e := range events {
		errs[i] = h.handleOne(ctx, e)
	}
	return errs
}

// handleOne runs Handle on e in a span that continues the trace of the
// request or webhook that caused e, so everything it logs names its cause.
func (h Handler) handleOne(ctx context.Context, e eventstore.Event) error {
	ctx, span := tracer.Start(telemetry.ExtractTrace(ctx, e.Metadata.TraceParent, ""), "worker "+h.Name,
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attribute.String("ordermill.event_type", e.Type)))
	defer span.End()
	ctx = telemetry.WithAttrs(telemetry.WithSpan(ctx, span),
		slog.String(telemetry.KeyCorrelationID, e.Metadata.CorrelationID),
		slog.String(telemetry.KeyShop, e.Tenant), slog.String("worker", h.Name))
	start := time.Now()
	err := h.Handle(ctx, e)
	observeAttempt(h.Name, err)
	observeExecution(h.Name, start, err)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}
