package bus

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/relay"
)

// Consumers of processes gone for good leave the group once they hold
// nothing; one that still holds a message stays for its claim.
func TestBatchConsumerPrunesIdleConsumers(t *testing.T) {
	ctx := context.Background()
	client, prefix := testenv.Redis(t)
	stream := prefix + "order"
	c := &BatchConsumer{Redis: client, Group: prefix + "group", Consumer: "alive", Streams: []string{stream},
		Log: slog.New(slog.DiscardHandler)}
	c.createGroups(ctx)
	if err := client.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: map[string]any{"k": "v"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := client.XReadGroup(ctx, &redis.XReadGroupArgs{Group: c.Group, Consumer: "holding",
		Streams: []string{stream, ">"}, Count: 1, Block: -1}).Err(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gone", "alive"} {
		if err := client.XGroupCreateConsumer(ctx, stream, c.Group, name).Err(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	c.prune(ctx, 10*time.Millisecond)
	consumers, err := client.XInfoConsumers(ctx, stream, c.Group).Result()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range consumers {
		names = append(names, x.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"alive", "holding"}) {
		t.Fatalf("consumers after pruning: %v, want alive and holding", names)
	}
}

// Behind a read gate, what the relay published at once goes to the handler
// as one batch, whichever of the handler's consumers reads it.
func TestReadGateCoalescesBatches(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client, prefix := testenv.Redis(t)
	stream := prefix + "order"
	add := func(n int) { addEvents(t, client, stream, n) }
	batches := make(chan int, 10)
	gate := NewReadGate()
	for i := range 2 {
		c := &BatchConsumer{Redis: client, Group: prefix + "group", Consumer: fmt.Sprint("c", i), Streams: []string{stream},
			ClaimIdle: time.Minute, MaxBatch: 10, Log: slog.New(slog.DiscardHandler), Gate: gate,
			Handle: func(_ context.Context, batch []Delivery) []Delivery { batches <- len(batch); return nil }}
		c.createGroups(ctx)
		go c.Run(ctx)
	}
	add(1)
	if n := <-batches; n != 1 {
		t.Fatalf("first batch: %d messages, want 1", n)
	}
	add(3)
	if n := <-batches; n != 3 {
		t.Fatalf("messages published at once came in a batch of %d, want 3", n)
	}
	// Each batch is acknowledged once handled.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		pending, err := client.XPending(ctx, stream, prefix+"group").Result()
		if err != nil {
			t.Fatal(err)
		}
		if pending.Count == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages left unacknowledged", pending.Count)
		}
	}
}

// addEvents relays n events to stream as the relay would: in one MULTI/EXEC.
func addEvents(t *testing.T, client redis.UniversalClient, stream string, n int) {
	t.Helper()
	ctx := context.Background()
	_, err := client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for range n {
			msg, err := relay.ToMessage(eventstore.Event{ID: uuid.New(), StreamID: "order-1", Type: "order.placed"})
			if err != nil {
				return err
			}
			values, err := redisstream.DefaultMarshallerUnmarshaller{}.Marshal(stream, msg)
			if err != nil {
				return err
			}
			p.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: values})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A consumer stopped while it handles a batch acknowledges what it handled,
// so that a graceful stop hands another consumer only what was cut short
// (after ClaimIdle), not work already done.
func TestStoppedConsumerAcknowledgesWhatItHandled(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	client, prefix := testenv.Redis(t)
	stream := prefix + "order"
	addEvents(t, client, stream, 2)
	c := &BatchConsumer{Redis: client, Group: prefix + "group", Consumer: "stopping", Streams: []string{stream},
		ClaimIdle: time.Minute, MaxBatch: 2, Log: slog.New(slog.DiscardHandler)}
	var cutShort string
	c.Handle = func(_ context.Context, batch []Delivery) []Delivery {
		stop() // the process is told to stop while the batch is handled
		if len(batch) != 2 {
			t.Errorf("batch of %d, want 2", len(batch))
			return nil
		}
		cutShort = batch[1].ID
		return batch[1:]
	}
	c.Run(ctx)
	pending, err := client.XPendingExt(context.Background(), &redis.XPendingExtArgs{Stream: stream, Group: c.Group,
		Start: "-", End: "+", Count: 10}).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].ID != cutShort {
		t.Fatalf("pending after the stop: %v, want only %s (the one cut short)", pending, cutShort)
	}
}

// A handler's consumers behind one gate claim a dead consumer's messages on
// one schedule: one XAUTOCLAIM per interval for all of them, not one each.
// A full claim is followed by another at once, so a backlog is taken over
// at reading speed, not a batch per interval.
func TestGatedConsumersShareTheirClaims(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client, prefix := testenv.Redis(t)
	stream, group := prefix+"order", prefix+"group"
	claims := &testenv.CommandCounter{Name: "xautoclaim"}
	client.AddHook(claims)
	if err := client.XGroupCreateMkStream(ctx, stream, group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	const backlog = 25
	addEvents(t, client, stream, backlog)
	if err := client.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "dead",
		Streams: []string{stream, ">"}, Count: backlog, Block: -1}).Err(); err != nil {
		t.Fatal(err)
	}
	// ClaimIdle, below the default interval and above a blocked read's second.
	const interval = 1200 * time.Millisecond
	time.Sleep(interval)
	handled := make(chan int, 100)
	gate := NewReadGate()
	start := time.Now()
	for i := range 3 {
		c := &BatchConsumer{Redis: client, Group: group, Consumer: fmt.Sprint("c", i), Streams: []string{stream},
			ClaimIdle: interval, MaxBatch: 5, Log: slog.New(slog.DiscardHandler), Gate: gate,
			Handle: func(_ context.Context, batch []Delivery) []Delivery { handled <- len(batch); return nil }}
		go c.Run(ctx)
	}
	var got int
	for got < backlog {
		select {
		case n := <-handled:
			got += n
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d claimed messages handled", got, backlog)
		}
	}
	// Five full claims and one that finds the rest gone came at once.
	if took := time.Since(start); took >= 2*interval {
		t.Errorf("the backlog of %d took %v to claim in batches of 5, as if a claim per interval", backlog, took)
	}
	claims.N.Store(0)
	const rounds = 4
	time.Sleep(rounds * interval)
	if n := claims.N.Load(); n > rounds+1 {
		t.Fatalf("%d claims in %d intervals by 3 consumers sharing a gate, want at most one per interval", n, rounds)
	}
}
