// Package workers runs Ordermill's background handlers: the Shopify webhook
// processor, Shopify and SES calls and reports. Each handler consumes event
// categories from Redis Streams in its own consumer group, with retries, a
// dead-letter stream and idempotent, event-recorded outcomes.
package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/components/metrics"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/database"
	"github.com/ordermill/ordermill/internal/telemetry"
)

// Handler is one worker: a function of an event, fed the events of its
// categories. It must be idempotent, because delivery is at-least-once: its
// outcome events get deterministic ids (see Outcome) or are appended at an
// expected version, so a redelivered event changes nothing. An error is
// retried with backoff and then dead-lettered.
type Handler struct {
	Name       string
	Categories []string
	Handle     func(ctx context.Context, e eventstore.Event) error
	// HandleBatch, when set instead of Handle, takes events in batches (see
	// eventstore.BatchConsumer) and returns an error for each, nil for done.
	// Retries and dead letters work per event as with Handle.
	HandleBatch func(ctx context.Context, events []eventstore.Event) []error
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
	// dead-lettered (default 2, i.e. 3 attempts).
	MaxRetries int
	// RetryInterval is the first backoff; it doubles per retry (default 200ms).
	RetryInterval time.Duration
	// Concurrency is how many consumers each handler runs in this process
	// (default 4). A Watermill consumer waits for each ack before reading
	// on, so it handles one message at a time, and a batch handler's
	// consumer one batch at a time; handlers are idempotent and their writes
	// retry on version conflicts, so running several is safe.
	Concurrency int
	Logger      *slog.Logger
}

// MetaWorker is the message metadata key naming the handler that failed, on
// dead-lettered messages.
const MetaWorker = "worker"

// DeadLetterTopic is the Redis stream that receives events a handler gave up on.
func DeadLetterTopic(prefix string) string { return prefix + "deadletters" }

// RequeueTopic is the Redis stream a handler also consumes; a re-queued dead
// letter goes there, so only the handler that failed sees it again.
// It shares the relayed streams' hash slot, as the handler reads both at once.
func RequeueTopic(prefix, handler string) string {
	return eventstore.StreamKey(prefix, "worker."+handler+".requeue")
}

func consumerGroup(prefix, handler string) string { return prefix + "worker." + handler }

// Router runs handlers on Redis Streams consumer groups.
type Router struct {
	cfg      Config
	handlers []Handler
}

// NewRouter returns a router for handlers.
func NewRouter(cfg Config, handlers ...Handler) *Router {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ClaimIdle <= 0 {
		cfg.ClaimIdle = 30 * time.Second
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = 200 * time.Millisecond
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	for _, h := range handlers {
		startMetrics(h.Name)
	}
	return &Router{cfg: cfg, handlers: handlers}
}

// sharedClient keeps Watermill from closing a Redis client the process
// shares: its subscribers and publishers close their client on shutdown.
type sharedClient struct{ redis.UniversalClient }

func (sharedClient) Close() error { return nil }

// Run consumes until ctx ends. Messages in flight when it stops stay pending
// in Redis and are claimed by another consumer after ClaimIdle.
func (r *Router) Run(ctx context.Context) error {
	logger := watermill.NewSlogLogger(r.cfg.Logger)
	client := sharedClient{r.cfg.Redis}
	pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: client}, logger)
	if err != nil {
		return err
	}
	dead := &deadLetterPublisher{pub: pub, pool: r.cfg.Pool, attempts: r.cfg.MaxRetries + 1}
	// A Watermill router that stops with an error stops the batch consumers too.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	var watermillHandlers []Handler
	for _, h := range r.handlers {
		if h.HandleBatch == nil {
			watermillHandlers = append(watermillHandlers, h)
			continue
		}
		for i := range r.cfg.Concurrency {
			c := r.batchConsumer(h, i, dead)
			wg.Go(func() { c.Run(ctx) })
		}
	}
	if len(watermillHandlers) > 0 {
		err = r.runWatermill(ctx, logger, dead, watermillHandlers)
		stop()
	}
	wg.Wait()
	return err
}

// consumerName names consumer i of this process.
func (r *Router) consumerName(i int) string {
	if i == 0 {
		return r.cfg.ConsumerName
	}
	return fmt.Sprintf("%s-%d", r.cfg.ConsumerName, i)
}

// topics are the streams h consumes: its requeue stream and its categories.
func (r *Router) topics(h Handler) []string {
	topics := []string{RequeueTopic(r.cfg.TopicPrefix, h.Name)}
	for _, c := range h.Categories {
		topics = append(topics, eventstore.Topic(r.cfg.TopicPrefix, c))
	}
	return topics
}

// runWatermill runs handlers through a Watermill router, one message at a
// time per consumer.
func (r *Router) runWatermill(ctx context.Context, logger watermill.LoggerAdapter, dead *deadLetterPublisher, handlers []Handler) error {
	client := sharedClient{r.cfg.Redis}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, logger)
	if err != nil {
		return err
	}
	// A shutdown cancels in-flight handlers, and an unreachable database
	// fails them; neither is the event's fault, so it is neither retried nor
	// dead-lettered but handed over again (nacked) or left pending.
	poison, err := middleware.PoisonQueueWithFilter(dead, DeadLetterTopic(r.cfg.TopicPrefix),
		func(err error) bool { return !blameless(err) })
	if err != nil {
		return err
	}
	router.AddMiddleware(
		middleware.CorrelationID,
		poison,
		middleware.Retry{
			MaxRetries:      r.cfg.MaxRetries,
			InitialInterval: r.cfg.RetryInterval,
			MaxInterval:     r.cfg.RetryInterval * 16,
			Multiplier:      2,
			ShouldRetry:     func(p middleware.RetryParams) bool { return !blameless(p.Err) },
			Logger:          logger,
		}.Middleware,
		middleware.Recoverer,
	)
	// Watermill's own handler timing, innermost so that it times each attempt.
	metrics.NewPrometheusMetricsBuilder(prometheus.DefaultRegisterer, "ordermill", "worker").AddPrometheusRouterMetrics(router)
	for _, h := range handlers {
		for i := range r.cfg.Concurrency {
			sub, err := redisstream.NewSubscriber(redisstream.SubscriberConfig{
				Client:          client,
				ConsumerGroup:   consumerGroup(r.cfg.TopicPrefix, h.Name),
				Consumer:        r.consumerName(i),
				OldestId:        "0",
				NackResendSleep: 50 * time.Millisecond,
				MaxIdleTime:     r.cfg.ClaimIdle,
				ClaimInterval:   min(r.cfg.ClaimIdle, redisstream.DefaultClaimInterval),
				BlockTime:       time.Second,
			}, logger)
			if err != nil {
				return err
			}
			for _, topic := range r.topics(h) {
				router.AddConsumerHandler(fmt.Sprintf("worker.%s@%s#%d", h.Name, topic, i), topic, sub, r.consume(h))
			}
		}
	}
	return router.Run(ctx)
}

var (
	// errStopping marks a handler error caused by the router shutting down.
	errStopping = errors.New("worker stopping")
	// errUnreachable marks a handler error caused by an unreachable database.
	errUnreachable = errors.New("database unreachable")
)

// blameless reports whether a handler error is not its event's fault, so
// that the event must be neither retried as such nor dead-lettered.
func blameless(err error) bool { return errors.Is(err, errStopping) || errors.Is(err, errUnreachable) }

// unreachablePause is how long a consumer waits before an event that failed
// on an unreachable database is handed over again.
const unreachablePause = time.Second

var tracer = telemetry.Tracer("workers")

func (r *Router) consume(h Handler) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		msg.Metadata.Set(MetaWorker, h.Name)
		e, err := eventstore.FromMessage(msg)
		if err != nil {
			// Not an event: nothing a retry could fix.
			r.cfg.Logger.Error("worker dropped a malformed message", "worker", h.Name, "err", err)
			return nil
		}
		// Everything the handler logs names the webhook or request that
		// caused it, and its span continues that request's trace.
		ctx, span := tracer.Start(telemetry.ExtractTrace(msg.Context(), e.Metadata.TraceParent, ""), "worker "+h.Name,
			trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attribute.String("ordermill.event_type", e.Type)))
		defer span.End()
		ctx = telemetry.WithAttrs(telemetry.WithSpan(ctx, span),
			slog.String(telemetry.KeyCorrelationID, middleware.MessageCorrelationID(msg)),
			slog.String(telemetry.KeyShop, e.Tenant), slog.String("worker", h.Name))
		err = h.Handle(ctx, e)
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		observeAttempt(h.Name, err)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w: %w", errStopping, err)
			}
			if database.Unreachable(err) {
				select {
				case <-ctx.Done():
				case <-time.After(unreachablePause):
				}
				return fmt.Errorf("%w: %w", errUnreachable, failure(h, e, err))
			}
			return failure(h, e, err)
		}
		return nil
	}
}

// failure names the handler and event an error is about.
func failure(h Handler, e eventstore.Event, err error) error {
	return fmt.Errorf("%s: %s %s v%d: %w", h.Name, e.Type, e.StreamID, e.StreamVersion, err)
}

// outcomeNamespace is the UUID v5 namespace of handler outcome event ids.
// Changing it would let redelivered events record their outcomes twice.
var outcomeNamespace = uuid.MustParse("3c0f7a52-8e41-4d7b-a9f6-2b1e5d0c8a93")

// Outcome prepares the events handler appends to stream in reaction to
// source: each gets an id derived from (handler, source, stream, index), so a
// redelivered source that appends again is refused as ErrDuplicateEvent, and
// metadata naming source as the cause, with its correlation id.
func Outcome(handler string, source eventstore.Event, stream string, events []eventstore.NewEvent) []eventstore.NewEvent {
	meta := OutcomeMetadata(handler, source)
	for i := range events {
		name := handler + "/" + source.ID.String() + "/" + stream + "/" + strconv.Itoa(i)
		events[i].ID = uuid.NewSHA1(outcomeNamespace, []byte(name))
		events[i].Metadata = meta
	}
	return events
}

// OutcomeMetadata is the metadata of events handler appends because of source.
func OutcomeMetadata(handler string, source eventstore.Event) eventstore.Metadata {
	correlation := source.Metadata.CorrelationID
	if correlation == "" {
		correlation = source.ID.String()
	}
	return eventstore.Metadata{
		CorrelationID: correlation,
		CausationID:   source.ID.String(),
		Actor:         "worker:" + handler,
		Source:        "worker",
		TraceParent:   source.Metadata.TraceParent, // what it caused stays in the caller's trace
	}
}
