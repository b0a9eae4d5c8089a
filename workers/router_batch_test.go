package workers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/relay"
	"github.com/ordermill/ordermill/workers"
)

// jobs is how many job.queued events relayedJobs relays.
const jobs = 64

// relayedJobs appends jobs job.queued events, one per stream, and relays
// them to Redis until ctx ends.
func relayedJobs(ctx context.Context, t *testing.T) (*pgxpool.Pool, *redis.Client, string) {
	t.Helper()
	pool := testenv.Pool(t)
	rdb, prefix := testenv.Redis(t)
	store := eventstore.New(pool)
	for i := range jobs {
		if _, err := store.Append(ctx, fmt.Sprintf("job-%d", i), eventstore.NoStream,
			eventstore.NewEvent{Type: "job.queued", Tenant: "a.myshopify.com", Data: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: rdb}, watermill.NewSlogLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	go relay.NewRelay(store, pub, relay.RelayConfig{TopicPrefix: prefix}).Run(ctx)
	return pool, rdb, prefix
}

// A handler of one event at a time still reads its backlog in batches: 64
// waiting events take a few reads, not one read (and one acknowledgement)
// each, and every event is handled once.
func TestHandlerOfOneEventReadsInBatches(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool, rdb, prefix := relayedJobs(ctx, t)
	waitFor(t, "the relay to publish every event", func() bool {
		n, err := rdb.XLen(ctx, relay.Topic(prefix, "job")).Result()
		return err == nil && n == jobs
	})

	var handled atomic.Int64
	reads := &testenv.CommandCounter{Name: "xreadgroup"}
	client := redis.NewClient(rdb.Options())
	defer client.Close()
	client.AddHook(reads)
	h := workers.Handler{Name: "jobs", Categories: []string{"job"}, Handle: func(context.Context, eventstore.Event) error {
		handled.Add(1)
		return nil
	}}
	router := workers.NewRouter(workers.Config{Redis: client, Pool: pool, TopicPrefix: prefix, ConsumerName: "c1"}, h)
	go func() { _ = router.Run(ctx) }()
	waitFor(t, "every event handled", func() bool { return handled.Load() >= jobs })
	// Four consumers read in turn; each read takes up to a batch.
	if n := reads.N.Load(); n > 12 {
		t.Errorf("%d reads for %d waiting events, want them read in batches", n, jobs)
	}
	if n := handled.Load(); n != jobs {
		t.Errorf("handled %d events, want %d", n, jobs)
	}
}

// A serial handler runs one consumer in the process, though the router runs
// several of every other handler.
func TestSerialHandlerHandlesOneBatchAtATime(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool, rdb, prefix := relayedJobs(ctx, t)
	var inFlight, most, handled atomic.Int64
	h := workers.Handler{Name: "jobs", Categories: []string{"job"}, Serial: true, Handle: func(context.Context, eventstore.Event) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(5 * time.Millisecond) // long enough for other consumers to read
		handled.Add(1)
		return nil
	}}
	router := workers.NewRouter(workers.Config{Redis: rdb, Pool: pool, TopicPrefix: prefix, ConsumerName: "c1", Concurrency: 4}, h)
	go func() { _ = router.Run(ctx) }()
	waitFor(t, "every event handled", func() bool { return handled.Load() >= jobs })
	if m := most.Load(); m != 1 {
		t.Errorf("%d events of a serial handler were handled at once", m)
	}
}
