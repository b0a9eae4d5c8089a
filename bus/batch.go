// Package bus is the one consumer runtime of projectors and workers: Redis
// Streams consumer groups fed by the relay, claiming a dead consumer's
// messages, one retry policy (exponential backoff, then a dead letter) and
// one dead-letter path, with a list the app shows and re-queues from.
package bus

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/database"
	"github.com/ordermill/ordermill/relay"
)

// DefaultMaxRetries is how often a failed event is retried before it is
// dead-lettered: 3 retries, 4 attempts.
const DefaultMaxRetries = 3

// NoRetries as Config.MaxRetries dead-letters an event on its first failure.
const NoRetries = -1

// Config configures Run.
type Config struct {
	Redis        redis.UniversalClient
	Pool         *pgxpool.Pool // where dead letters are recorded
	TopicPrefix  string
	ConsumerName string // unique per process, e.g. platform.ConsumerName()
	// ClaimIdle is how long a dead consumer's pending messages wait before
	// another consumer of the group claims them (default 30s).
	ClaimIdle time.Duration
	// MaxRetries is how often a failed event is retried before it is
	// dead-lettered (0: DefaultMaxRetries; NoRetries: none).
	MaxRetries int
	// RetryInterval is the first backoff; it doubles per retry (default 200ms).
	RetryInterval time.Duration
	Logger        *slog.Logger
}

// Handler is one consumer group's handler. It must be idempotent, because
// delivery is at-least-once.
type Handler struct {
	// Name names the handler in dead letters, logs and metrics; it is unique
	// among handlers.
	Name  string
	Group string // the Redis consumer group
	// Categories are the event categories it consumes, one relayed stream
	// each; it also consumes its requeue stream.
	Categories []string
	// MaxBatch bounds the events handed over at once (default 1).
	MaxBatch int
	// Consumers is how many consumers it runs in this process (default 1).
	Consumers int
	// Handle handles a batch and returns an error for each event, nil for
	// done. A failed event is handed over again after a backoff and
	// dead-lettered on its MaxRetries+1st failure; a failure while the
	// database is unreachable or the process is stopping does not count.
	Handle func(ctx context.Context, events []eventstore.Event) []error
}

// MetaHandler is the message metadata key naming the handler that gave up,
// on dead-lettered messages.
const MetaHandler = "worker"

// DeadLetterTopic is the Redis stream that receives events a handler gave up on.
func DeadLetterTopic(prefix string) string { return prefix + "deadletters" }

// RequeueTopic is the Redis stream a handler also consumes; a re-queued dead
// letter goes there, so only the handler that failed sees it again.
// It shares the relayed streams' hash slot, as the handler reads both at once.
func RequeueTopic(prefix, handler string) string {
	return relay.StreamKey(prefix, "worker."+handler+".requeue")
}

// ConsumerGroups lists the handlers' consumer groups, for the relay to
// recreate and wait for when Redis loses its data.
func ConsumerGroups(prefix string, handlers ...Handler) []relay.ConsumerGroup {
	groups := make([]relay.ConsumerGroup, 0, len(handlers))
	for _, h := range handlers {
		groups = append(groups, relay.ConsumerGroup{Name: h.Group, Categories: h.Categories,
			Others: []string{RequeueTopic(prefix, h.Name)}})
	}
	return groups
}

// sharedClient keeps Watermill from closing a Redis client the process
// shares: its publishers close their client on shutdown.
type sharedClient struct{ redis.UniversalClient }

func (sharedClient) Close() error { return nil }

// Run consumes for handlers until ctx ends. Messages in flight when it stops
// stay pending in Redis and are claimed by another consumer after ClaimIdle.
func Run(ctx context.Context, cfg Config, handlers ...Handler) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ClaimIdle <= 0 {
		cfg.ClaimIdle = 30 * time.Second
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = 200 * time.Millisecond
	}
	pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: sharedClient{cfg.Redis}},
		watermill.NewSlogLogger(cfg.Logger))
	if err != nil {
		return err
	}
	dead := &deadLetterPublisher{pub: pub, pool: cfg.Pool, attempts: cfg.MaxRetries + 1}
	var wg sync.WaitGroup
	for _, h := range handlers {
		StartMetrics(h.Name)
		gate := NewReadGate()
		for i := range max(h.Consumers, 1) {
			c := newConsumer(cfg, h, i, dead)
			c.Gate = gate
			wg.Go(func() { c.Run(ctx) })
		}
	}
	wg.Wait()
	return nil
}

// consumerName names consumer i of this process.
func consumerName(cfg Config, i int) string {
	if i == 0 {
		return cfg.ConsumerName
	}
	return fmt.Sprintf("%s-%d", cfg.ConsumerName, i)
}

// newConsumer is consumer i of h, applying the retry policy to what h.Handle
// returns.
func newConsumer(cfg Config, h Handler, i int, dead *deadLetterPublisher) *BatchConsumer {
	log := cfg.Logger.With("handler", h.Name)
	streams := []string{RequeueTopic(cfg.TopicPrefix, h.Name)}
	for _, c := range h.Categories {
		streams = append(streams, relay.Topic(cfg.TopicPrefix, c))
	}
	return &BatchConsumer{
		Redis: cfg.Redis, Group: h.Group, Consumer: consumerName(cfg, i),
		Streams: streams, ClaimIdle: cfg.ClaimIdle,
		MaxBatch: max(h.MaxBatch, 1), RetryMin: cfg.RetryInterval, RetryMax: cfg.RetryInterval * 16, Log: log,
		Handle: func(ctx context.Context, batch []Delivery) []Delivery {
			events := make([]eventstore.Event, len(batch))
			for i, d := range batch {
				events[i] = d.Event
			}
			errs := handleSafely(ctx, h, events)
			var failed []Delivery
			for i, d := range batch {
				err := errs[i]
				switch {
				case err == nil:
				case ctx.Err() != nil:
					failed = append(failed, d) // stopping: it stays pending for the next run
				case database.Unreachable(err):
					log.Warn("handler failed with the database unreachable; retrying", "stream", d.Event.StreamID, "version", d.Event.StreamVersion, "err", err)
					failed = append(failed, d) // not the event's fault: the try does not count
				case d.Failures < cfg.MaxRetries:
					log.Warn("handler failed; retrying", "stream", d.Event.StreamID, "version", d.Event.StreamVersion, "err", err)
					d.Failures++
					failed = append(failed, d)
				default:
					if err := deadLetter(ctx, cfg.TopicPrefix, dead, h, d, err); err != nil {
						log.Error("could not dead-letter an event", "stream", d.Event.StreamID, "err", err)
						failed = append(failed, d)
					}
				}
			}
			return failed
		},
	}
}

// handleSafely runs h.Handle, turning a panic into a failure of every event
// of the batch, so one bad event cannot take the process down.
func handleSafely(ctx context.Context, h Handler, events []eventstore.Event) (errs []error) {
	defer func() {
		if p := recover(); p != nil {
			err := fmt.Errorf("panic: %v", p)
			errs = make([]error, len(events))
			for i := range errs {
				errs[i] = err
			}
		}
	}()
	errs = h.Handle(ctx, events)
	if len(errs) != len(events) {
		panic(fmt.Sprintf("bus: handler %s returned %d errors for %d events", h.Name, len(errs), len(events)))
	}
	return errs
}

// deadLetter records d in the dead-letter table and stream.
func deadLetter(ctx context.Context, prefix string, dead *deadLetterPublisher, h Handler, d Delivery, cause error) error {
	msg, err := relay.ToMessage(d.Event)
	if err != nil {
		return err
	}
	msg.SetContext(ctx)
	msg.Metadata.Set(MetaHandler, h.Name)
	msg.Metadata.Set(middleware.PoisonedTopicKey, d.Stream)
	msg.Metadata.Set(middleware.ReasonForPoisonedKey,
		fmt.Sprintf("%s: %s %s v%d: %v", h.Name, d.Event.Type, d.Event.StreamID, d.Event.StreamVersion, cause))
	return dead.Publish(DeadLetterTopic(prefix), msg)
}
