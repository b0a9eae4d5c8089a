package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/relay"
)

// relayRounds is how many times scenario 3 runs each relay and its XADD loop.
const relayRounds = 3

// relay is scenario 3: events/s from the events table to Redis Streams, for
// Watermill's publisher (one XADD round trip per event) and the pipelined
// one (one per relay.PipelineDepth events), each next to a plain XADD
// loop of the same message at the same pipeline depth.
func (b *bench) relay(ctx context.Context) error {
	e, err := b.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	n, err := seedOrders(ctx, e.p.Pool, b.size.relayEvents, 1)
	if err != nil {
		return err
	}
	// Readers see a commit only once no older transaction on the server is
	// still open, so the seeded rows can take a moment to become visible.
	var first []eventstore.Event
	for deadline := time.Now().Add(time.Minute); len(first) == 0; {
		if first, err = e.p.Store.ReadAll(ctx, eventstore.Start, 1); err != nil {
			return err
		}
		if len(first) == 0 {
			if time.Now().After(deadline) {
				return fmt.Errorf("seeded events not visible after a minute (a transaction is held open on the server)")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	msg, err := relay.ToMessage(first[0])
	if err != nil {
		return err
	}
	values, err := redisstream.DefaultMarshallerUnmarshaller{}.Marshal("", msg)
	if err != nil {
		return err
	}
	watermillPub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: e.p.Redis}, watermill.NopLogger{})
	if err != nil {
		return err
	}
	for _, c := range []struct {
		name  string
		pub   message.Publisher
		depth int
	}{
		{"Watermill publisher", watermillPub, 1},
		{"pipelined publisher", relay.NewPipelinePublisher(e.p.Redis), relay.PipelineDepth},
	} {
		// Alternating rounds, as in scenario 1's saturated phase: a round
		// lasts about a second, so a slow spell of the machine could fall on
		// one side only. Streams are kept between rounds (the relay trims
		// only what consumer groups acknowledged, and here there are none):
		// both sides write into fresh Redis memory.
		var relayTime, rawTime, readTime time.Duration
		var relayCPU, rawCPU cpuUse
		for range relayRounds {
			if c.depth > 1 {
				d, err := readDuration(ctx, e, n)
				if err != nil {
					return err
				}
				readTime += d
			}
			err := relayCPU.measure(func() (int64, error) {
				d, err := relayDuration(ctx, e, c.pub, c.name, n)
				relayTime += d
				return n, err
			})
			if err != nil {
				return err
			}
			err = rawCPU.measure(func() (int64, error) {
				d, err := xaddDuration(ctx, e.p.Redis, e.cfg.StreamPrefix+"raw", values, int(n), c.depth)
				rawTime += d
				return n, err
			})
			if err != nil {
				return err
			}
		}
		perSecond := func(d time.Duration) float64 { return float64(relayRounds*n) / d.Seconds() }
		rate, raw := perSecond(relayTime), perSecond(rawTime)
		r := ratio(rate, raw)
		b.row("3", value("relay, "+c.name, rate, "events/s"),
			value(fmt.Sprintf("XADD loop, pipeline depth %d", c.depth), raw, "events/s"), r, "throughput")
		b.note("Scenario 3, %s: while relaying, %s. While running the XADD loop, %s.", c.name, relayCPU, rawCPU)
		if readTime > 0 {
			// Reading and XADD each keep a server busy and the bench process
			// besides; on a machine without a core to spare for each, a relay
			// that only read and wrote would take the sum of their times.
			read, bound := perSecond(readTime), perSecond(readTime+rawTime)
			b.note("Scenario 3, %s: reading the events alone, in the relay's batches, ran at %.0f events/s; "+
				"reading and then writing each batch, without overlap, would relay %.0f events/s (%.0f%% of the XADD loop).",
				c.name, read, bound, 100*bound/raw)
		}
	}
	b.note("Scenario 3: %d order.placed events of %d bytes as a Redis message, read in batches of %d and "+
		"published %d per round trip; the relay's time includes reading the events table and saving its checkpoints. "+
		"Each figure is over %d rounds, relay and XADD loop alternating.",
		n, messageSize(values), relay.FollowBatch, relay.PipelineDepth, relayRounds)
	return nil
}

// relayDuration runs a relay from the start of the table through pub until
// it has published n events and saved its checkpoint at the last one.
func relayDuration(ctx context.Context, e *env, pub message.Publisher, name string, n int64) (time.Duration, error) {
	head, _, err := e.p.Store.Head(ctx)
	if err != nil {
		return 0, err
	}
	id := randomHex(3)
	rl := relay.NewRelay(e.p.Store, pub, relay.RelayConfig{
		TopicPrefix: e.cfg.StreamPrefix + id + ":", Checkpoint: "bench-" + id,
		Logger: slog.New(slog.DiscardHandler),
	})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- rl.Run(runCtx) }()
	deadline := start.Add(10 * time.Minute)
	for rl.Published() < n {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("relay (%s) published %d of %d events in 10 minutes", name, rl.Published(), n)
		}
		time.Sleep(time.Millisecond)
	}
	for {
		cp, err := relay.LoadCheckpoint(ctx, e.p.Pool, "bench-"+id)
		if err != nil {
			return 0, err
		}
		if cp == head {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("relay (%s) checkpoint at %s, not %s, after 10 minutes", name, cp, head)
		}
		time.Sleep(time.Millisecond)
	}
	took := time.Since(start)
	stop()
	// The leader lock must be free before the next relay starts.
	return took, <-done
}

// readDuration reads the first n events of the table as the relay does.
func readDuration(ctx context.Context, e *env, n int64) (time.Duration, error) {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	read := int64(0)
	err := relay.Follow(ctx, e.p.Store, eventstore.Start, relay.FollowOptions{},
		func(_ context.Context, events []eventstore.Event) error {
			if read += int64(len(events)); read >= n {
				stop()
			}
			return nil
		})
	if read < n {
		return 0, fmt.Errorf("read %d of %d events: %w", read, n, err)
	}
	return time.Since(start), nil
}

// xaddDuration adds n copies of values to stream, depth per round trip.
func xaddDuration(ctx context.Context, rdb redis.UniversalClient, stream string, values map[string]any, n, depth int) (time.Duration, error) {
	start := time.Now()
	for sent := 0; sent < n; sent += depth {
		pipe := rdb.Pipeline()
		for range min(depth, n-sent) {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: values})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

func messageSize(values map[string]any) int {
	n := 0
	for k, v := range values {
		n += len(k)
		switch v := v.(type) {
		case []byte:
			n += len(v)
		case string:
			n += len(v)
		default:
			n += len(fmt.Sprint(v))
		}
	}
	return n
}
