package relay_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/relay"
)

// TestRelayRepublishesWhatARestartedRedisLost restarts a Redis without
// persistence while a consumer has taken one message and others wait in
// the stream. The relay must notice, recreate the consumer group and
// republish from what the group had acknowledged: the consumer, which keeps
// running through the restart, ends with every event, and nothing it had
// acknowledged before the restart comes again.
func TestRelayRepublishesWhatARestartedRedisLost(t *testing.T) {
	forEachPublisher(t, func(t *testing.T, newPublisher func(redis.UniversalClient) message.Publisher) {
		server := testenv.StartRedis(t)
		client := redis.NewClient(&redis.Options{Addr: server.Addr})
		defer client.Close()
		testRelayRepublishesWhatRedisLost(t, newPublisher(client), client, server.Restart)
	})
}

// TestRelayRepublishesWhatAFailoverLost does the same on a Redis Cluster
// whose master of the streams is killed: its replica takes over with the
// marker but, replication being asynchronous, maybe without the newest
// entries. The relay must notice the new server and republish all the same.
func TestRelayRepublishesWhatAFailoverLost(t *testing.T) {
	cluster := testenv.StartRedisCluster(t)
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster.Addrs()})
	defer client.Close()
	testRelayRepublishesWhatRedisLost(t, relay.NewPipelinePublisher(client), client, func() {
		t.Logf("killed %s", cluster.KillMaster(relay.Topic("rec:", "thing")))
	})
}

// testRelayRepublishesWhatRedisLost runs the relay and a consumer on client
// and calls lose, which makes Redis lose what it holds, while a message is
// being handled and others wait.
func testRelayRepublishesWhatRedisLost(t *testing.T, pub message.Publisher, client redis.UniversalClient, lose func()) {
	store := eventstore.New(testenv.Pool(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const prefix, group = "rec:", "rec:projector.things"

	rl := relay.NewRelay(store, pub, relay.RelayConfig{
		TopicPrefix: prefix,
		Follow:      relay.FollowOptions{BatchSize: 10, PollInterval: 20 * time.Millisecond},
		Logger:      slog.New(slog.DiscardHandler),
		Recovery: &relay.RedisRecovery{Redis: client, Check: 20 * time.Millisecond,
			Groups: []relay.ConsumerGroup{{Name: group, Categories: []string{"thing"}}}},
	})
	relayDone := make(chan struct{})
	go func() { rl.Run(ctx); close(relayDone) }()
	defer func() { cancel(); <-relayDone }()

	sub, err := redisstream.NewSubscriber(redisstream.SubscriberConfig{
		Client: client, ConsumerGroup: group, Consumer: "c1", OldestId: "0",
		BlockTime: 50 * time.Millisecond, DisableIndefiniteInitialBlock: true,
	}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := sub.Subscribe(ctx, relay.Topic(prefix, "thing"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		seen     = map[uuid.UUID]int{}
		hold     chan struct{} // while set, the consumer waits before handling
		firstRun = map[uuid.UUID]bool{}
	)
	go func() {
		for msg := range msgs {
			mu.Lock()
			h := hold
			mu.Unlock()
			if h != nil {
				<-h
			}
			e, err := relay.FromMessage(msg)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			seen[e.ID]++
			mu.Unlock()
			msg.Ack()
		}
	}()
	count := func(ids map[uuid.UUID]bool) (have, twice int) {
		mu.Lock()
		defer mu.Unlock()
		for id := range ids {
			if seen[id] > 0 {
				have++
			}
			if seen[id] > 1 {
				twice++
			}
		}
		return have, twice
	}
	var last eventstore.Position // of the newest event appended
	appendThings := func(n int, into map[uuid.UUID]bool) {
		for i := range n {
			res, err := store.Append(ctx, "thing-"+uuid.NewString(), eventstore.NoStream, ev("t.thing", i))
			if err != nil {
				t.Fatal(err)
			}
			into[res.Events[0].ID] = true
			last = res.Position
		}
	}

	// Phase 1: everything is consumed and the watermark passes it.
	appendThings(30, firstRun)
	waitFor(t, "the first events to be consumed", time.Minute, func() bool { have, _ := count(firstRun); return have == 30 })
	waitFor(t, "the watermark to pass them", time.Minute, func() bool {
		w, err := relay.LoadCheckpoint(ctx, store.Pool(), "relay.acknowledged")
		return err == nil && !last.After(w)
	})

	// Phase 2: the consumer holds one message; the rest wait in Redis.
	mu.Lock()
	hold = make(chan struct{})
	mu.Unlock()
	secondRun := map[uuid.UUID]bool{}
	appendThings(30, secondRun)
	waitFor(t, "the relay to publish them", time.Minute, func() bool {
		p, err := relay.LoadCheckpoint(ctx, store.Pool(), "relay")
		return err == nil && !last.After(p)
	})
	lose()
	mu.Lock()
	close(hold)
	hold = nil
	mu.Unlock()

	// Phase 3: after the restart more events come; all arrive.
	appendThings(10, secondRun)
	waitFor(t, "every event after the restart", time.Minute, func() bool { have, _ := count(secondRun); return have == 40 })
	if rl.Recoveries() < 1 {
		t.Fatal("the relay did not record a recovery")
	}
	if _, twice := count(firstRun); twice != 0 {
		t.Fatalf("%d events acknowledged before the restart were delivered again", twice)
	}
	// The stream holds events in commit order again: nothing published in
	// the moment before the relay noticed sits ahead of its predecessors.
	entries, err := client.XRange(ctx, relay.Topic(prefix, "thing"), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var prev eventstore.Position
	for _, x := range entries {
		msg, err := redisstream.DefaultMarshallerUnmarshaller{}.Unmarshal(x.Values)
		if err != nil {
			t.Fatal(err)
		}
		e, err := relay.FromMessage(msg)
		if err != nil {
			t.Fatal(err)
		}
		if prev.After(e.Position) {
			t.Fatalf("entry %s (%s) follows a later event (%s)", x.ID, e.Position, prev)
		}
		prev = e.Position
	}
}

// The relay trims each stream to what its consumer groups still need: the
// entries before the first one some group has not acknowledged go, the rest
// stay, and a group that does not exist yet keeps its streams whole.
func TestRelayTrimsWhatEveryGroupAcknowledged(t *testing.T) {
	store := eventstore.New(testenv.Pool(t))
	client, prefix := testenv.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	things, gadgets := relay.Topic(prefix, "thing"), relay.Topic(prefix, "gadget")
	g1, g2, g3 := prefix+"g1", prefix+"g2", prefix+"g3"
	for _, g := range []string{g1, g2} {
		if err := relay.CreateGroup(ctx, client, things, g); err != nil {
			t.Fatal(err)
		}
	}
	rl := relay.NewRelay(store, relay.NewPipelinePublisher(client), relay.RelayConfig{
		TopicPrefix: prefix,
		Follow:      relay.FollowOptions{PollInterval: 20 * time.Millisecond},
		Logger:      slog.New(slog.DiscardHandler),
		Recovery: &relay.RedisRecovery{Redis: client, Check: 10 * time.Millisecond, Groups: []relay.ConsumerGroup{
			{Name: g1, Categories: []string{"thing"}}, {Name: g2, Categories: []string{"thing"}},
			{Name: g3, Categories: []string{"gadget"}}, // never created
		}},
	})
	relayDone := make(chan struct{})
	go func() { rl.Run(ctx); close(relayDone) }()
	defer func() { cancel(); <-relayDone }()

	for i := range 20 {
		if _, err := store.Append(ctx, "thing-"+uuid.NewString(), eventstore.NoStream, ev("t.thing", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		if _, err := store.Append(ctx, "gadget-"+uuid.NewString(), eventstore.NoStream, ev("t.gadget", i)); err != nil {
			t.Fatal(err)
		}
	}
	length := func(topic string) int64 { return client.XLen(ctx, topic).Val() }
	waitFor(t, "the relay to publish everything", time.Minute, func() bool { return length(things) == 20 && length(gadgets) == 5 })
	read := func(group string) []string {
		res, err := client.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "c", Streams: []string{things, ">"}, Count: 100}).Result()
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range res[0].Messages {
			ids = append(ids, m.ID)
		}
		return ids
	}
	ids := read(g1)
	if len(ids) != 20 || len(read(g2)) != 20 {
		t.Fatalf("groups read %d entries, want 20 each", len(ids))
	}
	if err := client.XAck(ctx, things, g1, ids...).Err(); err != nil {
		t.Fatal(err)
	}
	// g2 acknowledges the first five only; the sixth is its first pending entry.
	if err := client.XAck(ctx, things, g2, ids[:5]...).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stream trimmed to g2's first pending entry", time.Minute, func() bool { return length(things) == 15 })
	first := client.XRangeN(ctx, things, "-", "+", 1).Val()
	if len(first) != 1 || first[0].ID != ids[5] {
		t.Fatalf("stream starts at %v, want %s", first, ids[5])
	}
	if err := client.XAck(ctx, things, g2, ids[5:]...).Err(); err != nil {
		t.Fatal(err)
	}
	// Everything acknowledged: only the last delivered entry stays.
	waitFor(t, "the stream trimmed to its last entry", time.Minute, func() bool { return length(things) == 1 })
	if n := length(gadgets); n != 5 {
		t.Fatalf("the gadget stream, whose group does not exist yet, holds %d of 5 entries", n)
	}
}

// Once every group has acknowledged everything, the relay computes no more
// watermarks until it publishes again: an idle platform would otherwise read
// every group of every stream every few seconds for the same answer.
func TestRelayWatermarkRestsWhileNothingIsPublished(t *testing.T) {
	store := eventstore.New(testenv.Pool(t))
	client, prefix := testenv.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	things, group := relay.Topic(prefix, "thing"), prefix+"g"
	if err := relay.CreateGroup(ctx, client, things, group); err != nil {
		t.Fatal(err)
	}
	check := 5 * time.Millisecond // a watermark every 5 checks
	rl := relay.NewRelay(store, relay.NewPipelinePublisher(client), relay.RelayConfig{
		TopicPrefix: prefix,
		Follow:      relay.FollowOptions{PollInterval: 20 * time.Millisecond},
		Logger:      slog.New(slog.DiscardHandler),
		Recovery: &relay.RedisRecovery{Redis: client, Check: check,
			Groups: []relay.ConsumerGroup{{Name: group, Categories: []string{"thing"}}}},
	})
	relayDone := make(chan struct{})
	go func() { rl.Run(ctx); close(relayDone) }()
	defer func() { cancel(); <-relayDone }()

	consume := func(n int) {
		t.Helper()
		for i := range n {
			if _, err := store.Append(ctx, "thing-"+uuid.NewString(), eventstore.NoStream, ev("t.thing", i)); err != nil {
				t.Fatal(err)
			}
		}
		var got int
		for got < n {
			res, err := client.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "c",
				Streams: []string{things, ">"}, Count: 100, Block: 10 * time.Second}).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range res[0].Messages {
				if err := client.XAck(ctx, things, group, m.ID).Err(); err != nil {
					t.Fatal(err)
				}
				got++
			}
		}
	}
	consume(10)
	waitFor(t, "the stream trimmed to its last entry", time.Minute, func() bool { return client.XLen(ctx, things).Val() == 1 })
	// The trim may come from the round before the one that settles.
	waitFor(t, "the watermark to settle", time.Minute, func() bool {
		before := rl.Watermarks()
		time.Sleep(20 * check * 5)
		return rl.Watermarks() == before
	})
	rested := rl.Watermarks()
	time.Sleep(40 * check * 5) // 40 rounds
	if n := rl.Watermarks() - rested; n != 0 {
		t.Fatalf("%d watermarks computed with nothing published", n)
	}
	consume(3)
	waitFor(t, "a watermark after more was published", time.Minute, func() bool { return rl.Watermarks() > rested })
	waitFor(t, "the stream trimmed to the new last entry", time.Minute, func() bool { return client.XLen(ctx, things).Val() == 1 })
}
