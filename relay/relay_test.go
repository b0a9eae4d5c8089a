package relay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/relay"
)

// forEachPublisher runs test with a relay publisher of each kind: Watermill's,
// and the pipelined one the relay role uses, for which the relay encodes the
// messages itself.
// ev is a small event of type typ numbered n.
func ev(typ string, n int) eventstore.NewEvent {
	return eventstore.NewEvent{Type: typ, Tenant: "shop.test", Data: json.RawMessage(fmt.Sprintf(`{"n": %d}`, n)),
		Metadata: eventstore.Metadata{CorrelationID: "corr-1", CausationID: "cause-1"}}
}

func forEachPublisher(t *testing.T, test func(t *testing.T, newPublisher func(redis.UniversalClient) message.Publisher)) {
	t.Run("watermill", func(t *testing.T) {
		test(t, func(client redis.UniversalClient) message.Publisher {
			pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: client}, watermill.NopLogger{})
			if err != nil {
				t.Fatal(err)
			}
			return pub
		})
	})
	t.Run("pipelined", func(t *testing.T) {
		test(t, func(client redis.UniversalClient) message.Publisher { return relay.NewPipelinePublisher(client) })
	})
}

func newRelay(store *eventstore.Store, pub message.Publisher, prefix string) *relay.Relay {
	return relay.NewRelay(store, pub, relay.RelayConfig{
		TopicPrefix:  prefix,
		Follow:       relay.FollowOptions{BatchSize: 50, PollInterval: 50 * time.Millisecond},
		StandbyRetry: 50 * time.Millisecond,
		Logger:       slog.New(slog.DiscardHandler),
	})
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func streamLen(t *testing.T, client *redis.Client, topics ...string) int64 {
	var n int64
	for _, topic := range topics {
		l, err := client.XLen(context.Background(), topic).Result()
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		n += l
	}
	return n
}

func TestRelayDeliversEverythingAcrossACrash(t *testing.T) {
	forEachPublisher(t, testRelayDeliversEverythingAcrossACrash)
}

func testRelayDeliversEverythingAcrossACrash(t *testing.T, newPublisher func(redis.UniversalClient) message.Publisher) {
	store := eventstore.New(testenv.Pool(t))
	client, prefix := testenv.Redis(t)
	ctx := context.Background()

	const total = 5000
	categories := []string{"order", "inventory"}
	for i := range total / 10 {
		stream := fmt.Sprintf("%s-%d", categories[i%2], i%40)
		batch := make([]eventstore.NewEvent, 10)
		for j := range batch {
			batch[j] = ev("t.relay", i*10+j)
		}
		if _, err := store.Append(ctx, stream, eventstore.AnyVersion, batch...); err != nil {
			t.Fatal(err)
		}
	}
	topics := []string{relay.Topic(prefix, "order"), relay.Topic(prefix, "inventory")}

	// First relay dies part-way: its context is cancelled wherever it is,
	// possibly between a publish and its checkpoint.
	crashCtx, crash := context.WithCancel(ctx)
	first := newRelay(store, newPublisher(client), prefix)
	firstDone := make(chan struct{})
	go func() { first.Run(crashCtx); close(firstDone) }()
	waitFor(t, "first relay to publish some events", 30*time.Second, func() bool { return first.Published() >= total/3 })
	crash()
	<-firstDone
	if first.Published() >= total {
		t.Fatalf("first relay finished before the crash; the test proves nothing")
	}

	secondCtx, stop := context.WithCancel(ctx)
	defer stop()
	second := newRelay(store, newPublisher(client), prefix)
	go second.Run(secondCtx)
	waitFor(t, "all events in Redis", 60*time.Second, func() bool {
		cp, err := relay.LoadCheckpoint(ctx, store.Pool(), "relay")
		if err != nil {
			t.Fatal(err)
		}
		head, _, err := store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cp == head
	})

	// Every event at least once, and per stream in version order.
	seen := map[string]int{}
	lastVersion := map[string]int64{}
	for _, topic := range topics {
		msgs, err := client.XRange(ctx, topic, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			msg, err := redisstream.DefaultMarshallerUnmarshaller{}.Unmarshal(m.Values)
			if err != nil {
				t.Fatal(err)
			}
			e, err := relay.FromMessage(msg)
			if err != nil {
				t.Fatal(err)
			}
			if msg.UUID != e.ID.String() {
				t.Fatalf("message uuid %s != event id %s", msg.UUID, e.ID)
			}
			if relay.Topic(prefix, eventstore.Category(e.StreamID)) != topic {
				t.Fatalf("event of %s published to %s", e.StreamID, topic)
			}
			seen[msg.UUID]++
			if seen[msg.UUID] == 1 {
				if e.StreamVersion != lastVersion[e.StreamID]+1 {
					t.Fatalf("stream %s: version %d after %d", e.StreamID, e.StreamVersion, lastVersion[e.StreamID])
				}
				lastVersion[e.StreamID] = e.StreamVersion
			}
		}
	}
	if len(seen) != total {
		t.Fatalf("%d distinct events in Redis, want %d", len(seen), total)
	}
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	t.Logf("%d events relayed, %d redelivered after the crash", total, dups)
	// The relay publishes at most 8 batches beyond its saved checkpoint, plus
	// the one being saved and the one being published.
	if dups > 10*50 {
		t.Fatalf("%d events redelivered: the checkpoint lagged too far behind publishing", dups)
	}

	// A consumer that dedupes by event id sees each event exactly once.
	sub, err := redisstream.NewSubscriber(redisstream.SubscriberConfig{
		Client: client, ConsumerGroup: prefix + "dedupe-test", Consumer: "c1", OldestId: "0",
	}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	consumed := map[string]int{}
	for _, topic := range topics {
		msgs, err := sub.Subscribe(secondCtx, topic)
		if err != nil {
			t.Fatal(err)
		}
		want := streamLen(t, client, topic)
		for range want {
			select {
			case m := <-msgs:
				consumed[m.UUID]++
				m.Ack()
			case <-time.After(30 * time.Second):
				t.Fatalf("consumer stalled on %s", topic)
			}
		}
	}
	if len(consumed) != total {
		t.Fatalf("deduping consumer saw %d distinct events, want %d", len(consumed), total)
	}
}

func TestStandbyRelayTakesOver(t *testing.T) {
	forEachPublisher(t, testStandbyRelayTakesOver)
}

func testStandbyRelayTakesOver(t *testing.T, newPublisher func(redis.UniversalClient) message.Publisher) {
	store := eventstore.New(testenv.Pool(t))
	client, prefix := testenv.Redis(t)
	ctx := context.Background()

	ctxA, stopA := context.WithCancel(ctx)
	ctxB, stopB := context.WithCancel(ctx)
	defer stopB()
	a, b := newRelay(store, newPublisher(client), prefix), newRelay(store, newPublisher(client), prefix)
	doneA := make(chan struct{})
	go func() { a.Run(ctxA); close(doneA) }()
	waitFor(t, "a to lead", 10*time.Second, a.IsLeader)
	go b.Run(ctxB)
	time.Sleep(200 * time.Millisecond) // several standby retries
	if b.IsLeader() {
		t.Fatal("two leaders at once")
	}

	appendN := func(from, n int) {
		for i := range n {
			if _, err := store.Append(ctx, "order-"+strconv.Itoa(from+i), eventstore.NoStream, ev("t.x", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	topic := relay.Topic(prefix, "order")
	appendN(0, 10)
	waitFor(t, "leader to publish", 10*time.Second, func() bool { return streamLen(t, client, topic) >= 10 })
	if b.Published() != 0 {
		t.Fatalf("standby published %d events", b.Published())
	}

	stopA()
	<-doneA
	waitFor(t, "standby to take over", 10*time.Second, b.IsLeader)
	appendN(10, 10)
	waitFor(t, "new leader to publish", 10*time.Second, func() bool { return b.Published() >= 10 })
	if n := streamLen(t, client, topic); n < 20 {
		t.Fatalf("stream has %d messages, want at least 20", n)
	}
}

// With the pipelined publisher the relay encodes messages itself. What it
// writes must decode, with Watermill's unmarshaller, to exactly the message
// ToMessage makes of the stored event, payload byte for byte, however
// awkward the event's strings and data.
func TestPipelinedRelayWritesWhatWatermillWould(t *testing.T) {
	store := eventstore.New(testenv.Pool(t))
	client, prefix := testenv.Redis(t)
	ctx := context.Background()
	odd := "<a&b> \"q\" \\ \t\n\x01\x7f é 😀 \u2028\u2029 </script>"
	data := []string{
		`{"s": "` + strings.NewReplacer("\"", `\"`, "\\", `\\`, "\t", `\t`, "\n", `\n`, "\x01", `\u0001`).Replace(odd) + `"}`,
		`{"n": [1, 2.50, -0.0, 1e3, 12345678901234567890], "t": true, "f": false, "z": null, "e": {}, "a": [], "k": {"<&>": [{"x": " \\u2028 "}]}}`,
		`"just a string with <html> & more"`,
		`[]`,
		`12`,
	}
	metas := []eventstore.Metadata{
		{},
		{CorrelationID: odd, CausationID: "c", Actor: "a", RequestID: "r", Source: odd},
		{Source: "only source"},
		{CorrelationID: strings.Repeat("x", 300), CausationID: strings.Repeat("é", 40000)}, // msgpack str16 and str32
		{Actor: "ops"},
	}
	for i := range data {
		e := eventstore.NewEvent{Type: "t." + odd, Tenant: odd, Data: json.RawMessage(data[i]), Metadata: metas[i], SchemaVersion: i}
		if _, err := store.Append(ctx, fmt.Sprintf("order-%d%s", i, odd), eventstore.NoStream, e); err != nil {
			t.Fatal(err)
		}
		// Another category, so a batch spans two topics.
		if _, err := store.Append(ctx, fmt.Sprintf("thing-%d", i), eventstore.NoStream, ev("t.thing", i)); err != nil {
			t.Fatal(err)
		}
	}
	var want []eventstore.Event
	waitFor(t, "the events to be visible", 30*time.Second, func() bool {
		var err error
		if want, err = store.ReadAll(ctx, eventstore.Start, 100); err != nil {
			t.Fatal(err)
		}
		return len(want) == 2*len(data)
	})

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	rl := newRelay(store, relay.NewPipelinePublisher(client), prefix)
	go rl.Run(runCtx)
	waitFor(t, "the relay to publish everything", 30*time.Second, func() bool { return rl.Published() >= int64(len(want)) })

	byID := map[string]*message.Message{}
	for _, category := range []string{"order", "thing"} {
		entries, err := client.XRange(ctx, relay.Topic(prefix, category), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range entries {
			msg, err := redisstream.DefaultMarshallerUnmarshaller{}.Unmarshal(x.Values)
			if err != nil {
				t.Fatal(err)
			}
			byID[msg.UUID] = msg
		}
	}
	for _, e := range want {
		w, err := relay.ToMessage(e)
		if err != nil {
			t.Fatal(err)
		}
		got := byID[w.UUID]
		if got == nil {
			t.Fatalf("event %s of %q not published", w.UUID, e.StreamID)
		}
		if !got.Equals(w) {
			t.Fatalf("event of %q:\n got %v %s\nwant %v %s", e.StreamID, got.Metadata, got.Payload, w.Metadata, w.Payload)
		}
	}
}
