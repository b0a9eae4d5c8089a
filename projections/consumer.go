package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/eventstore"
)

// A projector reads its streams in batches rather than through a Watermill
// router: Watermill's Redis subscriber hands over one message at a time and
// waits for its ack, so each event cost a transaction and a commit, and a
// busy projector fell seconds behind (make bench, scenario 2). The wire
// format is Watermill's, decoded with its unmarshaller.
const (
	// maxBatch bounds the messages applied in one transaction.
	maxBatch = 256
	// retryMin and retryMax bound the backoff before a failed batch is retried.
	retryMin = 50 * time.Millisecond
	retryMax = 5 * time.Second
)

// inbound is one Redis message and the event it carries.
type inbound struct {
	stream, id string
	event      eventstore.Event
}

// consumer feeds one projector from its consumer group.
type consumer struct {
	r       *Runner
	p       Projector
	group   string
	streams []string
	// reads is XREADGROUP's stream list: every stream, then ">" for each.
	reads []string
	// held are messages that failed; they stay pending in Redis and are
	// retried before anything new is read, as a nacked message would be.
	held    []inbound
	backoff time.Duration
}

func (r *Runner) newConsumer(p Projector) *consumer {
	c := &consumer{r: r, p: p, group: consumerGroup(r.cfg.TopicPrefix, p.Name())}
	for _, cat := range p.Categories() {
		c.streams = append(c.streams, eventstore.Topic(r.cfg.TopicPrefix, cat))
	}
	c.reads = append(slices.Clone(c.streams), slices.Repeat([]string{">"}, len(c.streams))...)
	return c
}

// run consumes until ctx ends. Messages in flight when it stops stay pending
// and are claimed by another consumer after ClaimIdle.
func (c *consumer) run(ctx context.Context) {
	log := c.r.cfg.Logger.With("projector", c.p.Name())
	c.createGroups(ctx)
	// First claim at once: a restarted process picks up its predecessor's
	// pending messages as soon as they have idled long enough.
	nextClaim, nextPrune := time.Now(), time.Now()
	for ctx.Err() == nil {
		var batch []inbound
		switch {
		case len(c.held) > 0:
			if !sleep(ctx, c.backoff) {
				return
			}
			batch, c.held = c.held, nil
		case !time.Now().Before(nextClaim):
			nextClaim = time.Now().Add(min(c.r.cfg.ClaimIdle, redisstream.DefaultClaimInterval))
			if !time.Now().Before(nextPrune) {
				nextPrune = time.Now().Add(redisstream.DefaultCheckConsumersInterval)
				c.prune(ctx, log, redisstream.DefaultConsumerTimeout)
			}
			claimed, err := c.claim(ctx)
			if err != nil {
				c.readFailed(ctx, log, "claim", err)
				continue
			}
			batch = claimed
		}
		if len(batch) == 0 {
			read, err := c.read(ctx)
			if err != nil {
				c.readFailed(ctx, log, "read", err)
				continue
			}
			batch = read
		}
		if len(batch) > 0 {
			c.apply(ctx, log, batch)
		}
	}
}

// read takes new messages from every stream, waiting up to a second for some.
func (c *consumer) read(ctx context.Context) ([]inbound, error) {
	res, err := c.r.cfg.Redis.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: c.group, Consumer: c.r.cfg.ConsumerName, Streams: c.reads, Count: maxBatch, Block: time.Second,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	var batch []inbound
	for _, s := range res {
		batch = append(batch, c.decode(ctx, s.Stream, s.Messages)...)
	}
	return batch, err
}

// claim takes over messages that another (dead) consumer left pending for
// longer than ClaimIdle.
func (c *consumer) claim(ctx context.Context) ([]inbound, error) {
	var batch []inbound
	for _, stream := range c.streams {
		start := "0-0"
		for len(batch) < maxBatch {
			msgs, next, err := c.r.cfg.Redis.XAutoClaim(ctx, &redis.XAutoClaimArgs{
				Stream: stream, Group: c.group, Consumer: c.r.cfg.ConsumerName,
				MinIdle: c.r.cfg.ClaimIdle, Start: start, Count: int64(maxBatch - len(batch)),
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
func (c *consumer) prune(ctx context.Context, log *slog.Logger, idle time.Duration) {
	for _, stream := range c.streams {
		consumers, err := c.r.cfg.Redis.XInfoConsumers(ctx, stream, c.group).Result()
		if err != nil {
			continue // a missing group is the read's business
		}
		for _, x := range consumers {
			if x.Name == c.r.cfg.ConsumerName || x.Pending > 0 || x.Idle < idle {
				continue
			}
			if err := c.r.cfg.Redis.XGroupDelConsumer(ctx, stream, c.group, x.Name).Err(); err != nil && ctx.Err() == nil {
				log.Warn("projector could not remove an idle consumer", "stream", stream, "consumer", x.Name, "err", err)
			}
		}
	}
}

// decode turns messages into events; one that carries no event can never be
// applied, so it is acknowledged and dropped with a log line.
func (c *consumer) decode(ctx context.Context, stream string, msgs []redis.XMessage) []inbound {
	var out []inbound
	for _, m := range msgs {
		msg, err := redisstream.DefaultMarshallerUnmarshaller{}.Unmarshal(m.Values)
		var e eventstore.Event
		if err == nil {
			e, err = eventstore.FromMessage(msg)
		}
		if err != nil {
			c.r.cfg.Logger.Error("projector dropped a malformed message", "projector", c.p.Name(), "stream", stream, "id", m.ID, "err", err)
			c.ack(ctx, []inbound{{stream: stream, id: m.ID}})
			continue
		}
		out = append(out, inbound{stream: stream, id: m.ID, event: e})
	}
	return out
}

// apply applies a batch in one transaction; when that fails, each message
// alone, so that one bad event holds back only itself.
func (c *consumer) apply(ctx context.Context, log *slog.Logger, batch []inbound) {
	events := make([]eventstore.Event, len(batch))
	for i, m := range batch {
		events[i] = m.event
	}
	applied, err := applyMany(ctx, c.r.pool, c.p, events)
	if err == nil {
		observeBatch(c.p.Name(), applied, len(batch)-applied)
		c.ack(ctx, batch)
		c.backoff = 0
		return
	}
	var done []inbound
	for _, m := range batch {
		outcome, err := ApplyOnce(ctx, c.r.pool, c.p, m.event)
		observeApply(c.p.Name(), outcome, err)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("projector failed to apply an event", "stream", m.event.StreamID,
					"version", m.event.StreamVersion, "type", m.event.Type, "err", err)
			}
			c.held = append(c.held, m)
			continue
		}
		done = append(done, m)
	}
	c.ack(ctx, done)
	if len(c.held) > 0 {
		c.backoff = min(max(2*c.backoff, retryMin), retryMax)
	}
}

// ack acknowledges messages, one pipelined round trip. A failed ack only
// means a redelivery, which applies nothing twice.
func (c *consumer) ack(ctx context.Context, msgs []inbound) {
	if len(msgs) == 0 {
		return
	}
	ids := map[string][]string{}
	for _, m := range msgs {
		ids[m.stream] = append(ids[m.stream], m.id)
	}
	_, err := c.r.cfg.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for stream, ids := range ids {
			p.XAck(ctx, stream, c.group, ids...)
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		c.r.cfg.Logger.Warn("projector could not acknowledge messages", "projector", c.p.Name(), "err", err)
	}
}

// createGroups makes the consumer group on every stream, from the start of
// the stream; the relay recreates them the same way when Redis lost them.
func (c *consumer) createGroups(ctx context.Context) {
	for _, stream := range c.streams {
		if err := eventstore.CreateGroup(ctx, c.r.cfg.Redis, stream, c.group); err != nil && ctx.Err() == nil {
			c.r.cfg.Logger.Warn("projector could not create its consumer group", "projector", c.p.Name(), "stream", stream, "err", err)
		}
	}
}

// readFailed waits a little after a Redis error; a lost group (Redis restarted
// empty) is created again so that the relay's republished events reach us.
func (c *consumer) readFailed(ctx context.Context, log *slog.Logger, what string, err error) {
	if ctx.Err() != nil {
		return
	}
	log.Warn(fmt.Sprintf("projector %s failed", what), "err", err)
	if strings.HasPrefix(err.Error(), "NOGROUP") {
		c.createGroups(ctx)
	}
	sleep(ctx, time.Second)
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
