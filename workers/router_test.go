package workers_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"

	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/relay"
	"github.com/ordermill/ordermill/workers"
)

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A handler that keeps failing is retried 3 times (the default policy), then
// dead-lettered (row and Redis stream), and a requeue hands the event back
// to that handler only; alike for handlers of one event and of batches.
func TestRouterRetriesDeadLettersAndRequeues(t *testing.T) {
	withBothConsumers(t, testRetriesDeadLettersAndRequeues)
}

// withBothConsumers runs test with handlers of one event at a time and of
// batches.
func withBothConsumers(t *testing.T, test func(t *testing.T, batches bool)) {
	t.Run("one at a time", func(t *testing.T) { test(t, false) })
	t.Run("batches", func(t *testing.T) { test(t, true) })
}

// inBatches is h taking its events in batches, handled one by one.
func inBatches(h workers.Handler) workers.Handler {
	handle := h.Handle
	h.Handle, h.HandleBatch = nil, func(ctx context.Context, events []eventstore.Event) []error {
		errs := make([]error, len(events))
		for i, e := range events {
			errs[i] = handle(ctx, e)
		}
		return errs
	}
	return h
}

func testRetriesDeadLettersAndRequeues(t *testing.T, batches bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool := testenv.Pool(t)
	rdb, prefix := testenv.Redis(t)
	store := eventstore.New(pool)

	var (
		mu      sync.Mutex
		seen    = map[string]int{}
		healthy bool
	)
	h := workers.Handler{Name: "jobs", Categories: []string{"job"}, Handle: func(ctx context.Context, e eventstore.Event) error {
		mu.Lock()
		defer mu.Unlock()
		seen[e.StreamID]++
		if e.StreamID == "job-2" && !healthy {
			return context.DeadlineExceeded // stands for a downstream outage
		}
		return nil
	}}
	if batches {
		h = inBatches(h)
	}
	for _, s := range []string{"job-1", "job-2", "job-3"} {
		if _, err := store.Append(ctx, s, eventstore.NoStream, eventstore.NewEvent{Type: "job.queued", Tenant: "a.myshopify.com", Data: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	logger := watermill.NewSlogLogger(nil)
	pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: rdb}, logger)
	if err != nil {
		t.Fatal(err)
	}
	go relay.NewRelay(store, pub, relay.RelayConfig{TopicPrefix: prefix}).Run(ctx)
	router := workers.NewRouter(workers.Config{
		Redis: rdb, Pool: pool, TopicPrefix: prefix, ConsumerName: "c1",
		RetryInterval: 5 * time.Millisecond,
	}, h)
	done := make(chan error, 1)
	go func() { done <- router.Run(ctx) }()

	dls := bus.NewDeadLetters(store, pub, prefix)
	var open []bus.DeadLetter
	// Consumers run concurrently, so job-3 may finish after job-2's dead letter.
	waitFor(t, "a dead letter and job-3", func() bool {
		open, err = dls.List(ctx, "a.myshopify.com", false, 0, 10)
		mu.Lock()
		defer mu.Unlock()
		return err == nil && len(open) == 1 && seen["job-3"] > 0
	})
	mu.Lock()
	if seen["job-1"] != 1 || seen["job-3"] != 1 || seen["job-2"] != 4 {
		t.Errorf("deliveries = %v, want job-1 and job-3 once, job-2 four times", seen)
	}
	healthy = true
	mu.Unlock()
	dl := open[0]
	if dl.Handler != "jobs" || dl.StreamID != "job-2" || dl.Attempts != 4 || dl.EventType != "job.queued" || dl.Error == "" {
		t.Errorf("dead letter = %+v", dl)
	}
	if n, err := rdb.XLen(ctx, bus.DeadLetterTopic(prefix)).Result(); err != nil || n != 1 {
		t.Errorf("dead-letter stream length = %d, %v; want 1", n, err)
	}

	requeued, err := dls.Requeue(ctx, "a.myshopify.com", dl.ID)
	if err != nil || requeued.RequeuedAt == nil {
		t.Fatalf("requeue: %+v, %v", requeued, err)
	}
	if _, err := dls.Requeue(ctx, "a.myshopify.com", dl.ID); err != bus.ErrDeadLetterNotFound {
		t.Errorf("second requeue: %v, want ErrDeadLetterNotFound", err)
	}
	if _, err := dls.Requeue(ctx, "other.myshopify.com", dl.ID); err != bus.ErrDeadLetterNotFound {
		t.Errorf("requeue from another shop: %v, want ErrDeadLetterNotFound", err)
	}
	waitFor(t, "the requeued event", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen["job-2"] == 5
	})
	open, err = dls.List(ctx, "a.myshopify.com", false, 0, 10)
	if err != nil || len(open) != 0 {
		t.Errorf("open dead letters after requeue = %v, %v", open, err)
	}
	mu.Lock()
	if seen["job-1"] != 1 || seen["job-3"] != 1 {
		t.Errorf("requeue reached other events: %v", seen)
	}
	mu.Unlock()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("router: %v", err)
	}
}
