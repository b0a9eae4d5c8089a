package bus

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/relay"
)

// BatchConsumer reads relayed events from a Redis Streams consumer group in
// batches rather than through a Watermill router: Watermill's Redis
// subscriber hands over one message at a time and waits for its ack, so a
// consumer that writes to Postgres paid a transaction and a commit per event
// and a busy one fell seconds behind (make bench, scenario 2). The wire
// format is Watermill's, decoded with its unmarshaller, and dead consumers'
// messages are claimed and dead consumers pruned as its subscriber does.
type BatchConsumer struct {
	Redis    redis.UniversalClient
	Group    string
	Consumer string // unique per process and consumer
	Streams  []string
	// ClaimIdle is how long a dead consumer's messages wait before this one
	// claims them.
	ClaimIdle time.Duration
	// MaxBatch bounds the messages handed over at once.
	MaxBatch int
	// RetryMin and RetryMax bound the backoff before failed messages are
	// handed over again.
	RetryMin, RetryMax time.Duration
	Log                *slog.Logger
	// Gate, shared by the consumers of one handler in a process, lets one
	// of them read at a time and spaces reads that found little: see readGate.
	// Nil: this consumer reads on its own.
	Gate *ReadGate
	// Handle handles a batch and returns the deliveries it could not. Those
	// stay pending in Redis and are handed over again, after a backoff and
	// before anything new is read, as a nacked message would be.
	Handle func(ctx context.Context, batch []Delivery) (failed []Delivery)
}

// Delivery is one relayed event as the consumer group handed it over.
type Delivery struct {
	Stream, ID string // the Redis stream and message id
	Event      eventstore.Event
	// Failures is for Handle to count failed attempts in: the consumer keeps
	// it with a delivery it holds for another try.
	Failures int
}

// Run consumes until ctx ends. Messages whose handling the stop cut short
// stay pending and are claimed by another consumer after ClaimIdle.
func (c *BatchConsumer) Run(ctx context.Context) {
	reads := append(slices.Clone(c.Streams), slices.Repeat([]string{">"}, len(c.Streams))...)
	c.createGroups(ctx)
	var (
		held    []Delivery // failed, to be handed over again at retryAt
		retryAt time.Time
		backoff time.Duration
	)
	// First claim at once: a restarted process picks up its predecessor's
	// pending messages as soon as they have idled long enough.
	claims := c.Gate.claimSchedule()
	nextPrune := time.Now()
	for ctx.Err() == nil {
		var batch []Delivery
		switch {
		case len(held) > 0 && !time.Now().Before(retryAt):
			batch, held = held, nil
		case claims.due(min(c.ClaimIdle, redisstream.DefaultClaimInterval)):
			if !time.Now().Before(nextPrune) {
				nextPrune = time.Now().Add(redisstream.DefaultCheckConsumersInterval)
				c.prune(ctx, redisstream.DefaultConsumerTimeout)
			}
			claimed, err := c.claim(ctx)
			if err != nil {
				c.readFailed(ctx, "claim", err)
				continue
			}
			if len(claimed) >= c.MaxBatch {
				claims.now() // there may be more: a dead consumer's backlog goes at reading speed
			}
			batch = claimed
		}
		if len(batch) == 0 {
			// Failed messages hold back only themselves: new ones are read
			// while they wait for their retry.
			wait := time.Second
			if len(held) > 0 {
				wait = max(time.Until(retryAt), time.Millisecond)
			}
			read, err := c.gatedRead(ctx, reads, wait, len(held) > 0)
			if err != nil {
				c.readFailed(ctx, "read", err)
				continue
			}
			batch = read
		}
		if len(batch) == 0 {
			continue
		}
		failed := c.Handle(ctx, batch)
		c.ackHandled(ctx, batch, failed)
		if len(failed) == 0 {
			if len(held) == 0 {
				backoff = 0
			}
			continue
		}
		backoff = nextBackoff(backoff, c.RetryMin, c.RetryMax)
		retryAt = time.Now().Add(backoff)
		held = append(held, failed...)
	}
}

// nextBackoff is the wait before the next retry after one of prev: it
// starts at lo and doubles with each failure, up to hi.
func nextBackoff(prev, lo, hi time.Duration) time.Duration {
	return min(max(2*prev, lo), hi)
}

// ReadGate lets one of a handler's consumers in a process wait for
// messages at a time while the others handle theirs: they keep one blocked
// read between them, not one each, and a batch the relay published (in one
// MULTI/EXEC, which a blocked read takes whole) goes to one handler call.
// Consumers do not wait for more messages: at a low rate the relay lets
// events gather before it reads (relay.FollowOptions.Linger), so that
// every stage after it handles several per wake-up.
//
// Its consumers also share one schedule of claims: any of them can take over
// a dead consumer's messages for all, and each claiming on its own cost a
// round trip per stream every few seconds, a third of an idle platform's.
type ReadGate struct {
	turn   chan struct{}
	claims *claimSchedule
}

// NewReadGate returns a gate for one handler's consumers.
func NewReadGate() *ReadGate {
	return &ReadGate{turn: make(chan struct{}, 1), claims: &claimSchedule{}}
}

// claimSchedule is the gate's, or a schedule of the consumer's own without one.
func (g *ReadGate) claimSchedule() *claimSchedule {
	if g == nil {
		return &claimSchedule{}
	}
	return g.claims
}

// claimSchedule says when to look for a dead consumer's messages next. Its
// zero value is due at once.
type claimSchedule struct {
	mu   sync.Mutex
	next time.Time
}

// due reports whether a claim is due and, if so, schedules the next one
// for every from now: the caller claims.
func (s *claimSchedule) due(every time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Now().Before(s.next) {
		return false
	}
	s.next = time.Now().Add(every)
	return true
}

// now makes the next claim due at once.
func (s *claimSchedule) now() {
	s.mu.Lock()
	s.next = time.Time{}
	s.mu.Unlock()
}

// gatedRead is read behind c.Gate, waiting no longer than wait in all when
// this consumer holds messages to retry. Otherwise it waits for its turn as
// long as that takes, then up to wait for messages: the consumer reading
// meanwhile also claims for all, so a timer here only woke an idle process.
func (c *BatchConsumer) gatedRead(ctx context.Context, reads []string, wait time.Duration, holding bool) ([]Delivery, error) {
	g := c.Gate
	if g == nil {
		return c.read(ctx, reads, wait)
	}
	var expired <-chan time.Time
	if holding {
		t := time.NewTimer(wait)
		defer t.Stop()
		expired = t.C
	}
	deadline := time.Now().Add(wait)
	select {
	case g.turn <- struct{}{}:
	case <-expired:
		return nil, nil // another consumer is reading; this one has messages to retry
	case <-ctx.Done():
		return nil, nil
	}
	defer func() { <-g.turn }()
	if !holding {
		deadline = time.Now().Add(wait)
	}
	return c.read(ctx, reads, max(time.Until(deadline), time.Millisecond))
}

// read takes new messages from every stream, waiting up to wait for some.
func (c *BatchConsumer) read(ctx context.Context, reads []string, wait time.Duration) ([]Delivery, error) {
	res, err := c.Redis.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: c.Group, Consumer: c.Consumer, Streams: reads, Count: int64(c.MaxBatch), Block: wait,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	var batch []Delivery
	for _, s := range res {
		batch = append(batch, c.decode(ctx, s.Stream, s.Messages)...)
	}
	return batch, err
}

// claim takes over messages that another (dead) consumer left pending for
// longer than ClaimIdle.
func (c *BatchConsumer) claim(ctx context.Context) ([]Delivery, error) {
	var batch []Delivery
	for _, stream := range c.Streams {
		start := "0-0"
		for len(batch) < c.MaxBatch {
			msgs, next, err := c.Redis.XAutoClaim(ctx, &redis.XAutoClaimArgs{
				Stream: stream, Group: c.Group, Consumer: c.Consumer,
				MinIdle: c.ClaimIdle, Start: start, Count: int64(c.MaxBatch - len(batch)),
			}).Result()
			if err != nil {
				return batch, err
			}
			batch = append(batch, c.decode(ctx, stream, msgs)...)
			if next == "0-0" {
				break
			}
			start = next
		}
	}
	return batch, nil
}

// prune removes consumers of dead processes (each process has its own name)
// once they hold nothing and have been idle for idle, as Watermill's
// subscriber does, so the group's consumer list does not grow forever.
func (c *BatchConsumer) prune(ctx context.Context, idle time.Duration) {
	for _, stream := range c.Streams {
		consumers, err := c.Redis.XInfoConsumers(ctx, stream, c.Group).Result()
		if err != nil {
			continue // a missing group is the read's business
		}
		for _, x := range consumers {
			if x.Name == c.Consumer || x.Pending > 0 || x.Idle < idle {
				continue
			}
			if err := c.Redis.XGroupDelConsumer(ctx, stream, c.Group, x.Name).Err(); err != nil && ctx.Err() == nil {
				c.Log.Warn("could not remove an idle consumer", "stream", stream, "consumer", x.Name, "err", err)
			}
		}
	}
}

// decode turns messages into events; one that carries no event can never be
// handled, so it is acknowledged and dropped with a log line.
func (c *BatchConsumer) decode(ctx context.Context, stream string, msgs []redis.XMessage) []Delivery {
	var out []Delivery
	for _, m := range msgs {
		msg, err := redisstream.DefaultMarshallerUnmarshaller{}.Unmarshal(m.Values)
		var e eventstore.Event
		if err == nil {
			e, err = relay.FromMessage(msg)
		}
		if err != nil {
			c.Log.Error("dropped a malformed message", "stream", stream, "id", m.ID, "err", err)
			c.ack(ctx, []Delivery{{Stream: stream, ID: m.ID}}, nil)
			continue
		}
		out = append(out, Delivery{Stream: stream, ID: m.ID, Event: e})
	}
	return out
}

// ackHandled acknowledges a handled batch but its failed messages. A stop
// that came while the batch was handled must not cost the acknowledgement
// of what was done, or another consumer would claim and redo it after
// ClaimIdle; nor may an unreachable Redis hold the stop up for long.
func (c *BatchConsumer) ackHandled(ctx context.Context, batch, failed []Delivery) {
	if ctx.Err() != nil {
		stopping, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		ctx = stopping
	}
	c.ack(ctx, batch, failed)
}

// ack acknowledges the messages of batch that are not held, in one pipelined
// round trip. A failed ack only means a redelivery, which handlers survive.
func (c *BatchConsumer) ack(ctx context.Context, batch, held []Delivery) {
	ids := map[string][]string{}
	for _, m := range batch {
		if !slices.ContainsFunc(held, func(h Delivery) bool { return h.Stream == m.Stream && h.ID == m.ID }) {
			ids[m.Stream] = append(ids[m.Stream], m.ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	_, err := c.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for stream, ids := range ids {
			p.XAck(ctx, stream, c.Group, ids...)
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		c.Log.Warn("could not acknowledge messages", "err", err)
	}
}

// createGroups makes the consumer group on every stream, from the start of
// the stream; the relay recreates them the same way when Redis lost them.
func (c *BatchConsumer) createGroups(ctx context.Context) {
	for _, stream := range c.Streams {
		if err := relay.CreateGroup(ctx, c.Redis, stream, c.Group); err != nil && ctx.Err() == nil {
			c.Log.Warn("could not create the consumer group", "stream", stream, "err", err)
		}
	}
}

// readFailed waits a little after a Redis error; a lost group (Redis restarted
// empty) is created again so that the relay's republished events reach us.
func (c *BatchConsumer) readFailed(ctx context.Context, what string, err error) {
	if ctx.Err() != nil {
		return
	}
	c.Log.Warn("consumer "+what+" failed", "err", err)
	if strings.HasPrefix(err.Error(), "NOGROUP") {
		c.createGroups(ctx)
	}
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
