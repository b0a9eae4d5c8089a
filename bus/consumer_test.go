package bus

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/internal/testenv"
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
