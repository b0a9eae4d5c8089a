package relay_test

// Relay throughput next to its raw baseline, measured in the same run:
// `go test -run '^$' -bench . ./relay`.

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/relay"
)

func BenchmarkRelay(b *testing.B) {
	pool := testenv.Pool(b)
	store := eventstore.New(pool)
	client, prefix := testenv.Redis(b)
	ctx := context.Background()

	b.Run("relay", func(b *testing.B) {
		b.StopTimer()
		if _, err := pool.Exec(ctx, `DELETE FROM checkpoints`); err != nil {
			b.Fatal(err)
		}
		// The relay starts from the beginning, so it publishes earlier rounds' events too.
		head := testenv.AppendBulk(b, pool, b.N)
		pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: client}, watermill.NopLogger{})
		if err != nil {
			b.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		defer stop()
		r := relay.NewRelay(store, pub, relay.RelayConfig{TopicPrefix: prefix + uuid.NewString()[:6] + ":",
			Logger: slog.New(slog.DiscardHandler), Follow: relay.FollowOptions{BatchSize: 1000}})
		start := time.Now()
		b.StartTimer()
		go r.Run(runCtx)
		for r.Published() < int64(head) {
			time.Sleep(time.Millisecond)
		}
		b.StopTimer()
		b.ReportMetric(float64(head)/time.Since(start).Seconds(), "events/s")
	})
	b.Run("raw-xadd", func(b *testing.B) {
		e := eventstore.Event{ID: uuid.New(), StreamID: "order-x", StreamVersion: 1, Type: "order.placed", Data: testenv.BenchPayload}
		msg, err := relay.ToMessage(e)
		if err != nil {
			b.Fatal(err)
		}
		values, err := redisstream.DefaultMarshallerUnmarshaller{}.Marshal("", msg)
		if err != nil {
			b.Fatal(err)
		}
		topic := prefix + "raw"
		start := time.Now()
		b.ResetTimer()
		for range b.N {
			if err := client.XAdd(ctx, &redis.XAddArgs{Stream: topic, Values: values}).Err(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	})
}
