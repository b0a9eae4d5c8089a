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

// Behind a read gate, messages that arrive while one batch is handled go
// to the handler as one batch, whichever of the handler's consumers reads
// them; a gate-less consumer blocked in XREADGROUP would take the first
// alone.
func TestReadGateCoalescesBatches(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client, prefix := testenv.Redis(t)
	stream := prefix + "order"
	add := func(n int) {
		t.Helper()
		_, err := client.Pipelined(ctx, func(p redis.Pipeliner) error {
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
	batches := make(chan int, 10)
	gate := NewReadGate(500 * time.Millisecond)
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
	// Separate XADDs, each of which would wake a blocked reader on its own.
	add(3)
	if n := <-batches; n != 3 {
		t.Fatalf("messages added within the linger came in a batch of %d, want 3", n)
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
