package workers_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/google/uuid"

	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/relay"
	"github.com/ordermill/ordermill/workers"
)

// Events whose handler fails only because Postgres is unreachable are handed
// over until it answers again, however long that takes, and never
// dead-lettered: a database restart is not the events' fault.
func TestRouterOutlastsADatabaseOutage(t *testing.T) {
	withBothConsumers(t, testOutlastsADatabaseOutage)
}

func testOutlastsADatabaseOutage(t *testing.T, batches bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The handler's database goes down; the one that records dead letters
	// stays up, as it does when an outage ends between a handler's failure
	// and the dead letter.
	pg := testenv.StartPostgres(t)
	handlerPool := testenv.PoolFor(t, pg.URL("postgres"))
	pool := testenv.Pool(t)
	rdb, prefix := testenv.Redis(t)

	const maxRetries = 2
	var (
		mu             sync.Mutex
		attempts, done = map[string]int{}, map[string]int{}
		streams        = []string{"job-1", "job-2", "job-3"}
	)
	deadLetters := func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM dead_letters`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	handle := func(ctx context.Context, e eventstore.Event) error {
		var one int
		err := handlerPool.QueryRow(ctx, `SELECT 1`).Scan(&one)
		mu.Lock()
		defer mu.Unlock()
		attempts[e.StreamID]++
		if err == nil {
			done[e.StreamID]++
		}
		return err
	}
	h := workers.Handler{Name: "jobs", Categories: []string{"job"}, Handle: handle}
	if batches {
		h = inBatches(h)
	}

	pg.Crash()
	pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: rdb}, watermill.NewSlogLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range streams {
		msg, err := relay.ToMessage(eventstore.Event{
			Position: eventstore.Position{TransactionID: 1000, GlobalPos: int64(i + 1)}, ID: uuid.New(), StreamID: s,
			StreamVersion: 1, Type: "job.queued", Tenant: "a.myshopify.com", Data: json.RawMessage(`{}`), RecordedAt: time.Now(),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(relay.Topic(prefix, "job"), msg); err != nil {
			t.Fatal(err)
		}
	}
	router := workers.NewRouter(workers.Config{
		Redis: rdb, Pool: pool, TopicPrefix: prefix, ConsumerName: "c1",
		MaxRetries: maxRetries, RetryInterval: 5 * time.Millisecond, Concurrency: 1,
	}, h)
	stopped := make(chan error, 1)
	go func() { stopped <- router.Run(ctx) }()

	// A consumer of one event at a time retries the first until it
	// succeeds; the others wait behind it.
	waitFor(t, "more attempts than a dead letter takes, or a dead letter", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return attempts["job-1"] > maxRetries+1 || deadLetters() > 0
	})
	if n := deadLetters(); n != 0 {
		t.Fatalf("%d events dead-lettered while their database was down", n)
	}
	pg.Start()
	waitFor(t, "every event handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return done["job-1"] == 1 && done["job-2"] == 1 && done["job-3"] == 1
	})
	if n := deadLetters(); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
	if n, err := rdb.XLen(ctx, bus.DeadLetterTopic(prefix)).Result(); err != nil || n != 0 {
		t.Errorf("dead-letter stream length = %d, %v; want 0", n, err)
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Errorf("router: %v", err)
	}
}
