package relay_test

import (
	"context"
	"fmt"
	"strings"
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

// The pipelined publisher writes exactly what Watermill's publisher writes,
// in the same order, so subscribers cannot tell them apart.
func TestPipelinePublisherMatchesWatermill(t *testing.T) {
	client, prefix := testenv.Redis(t)
	ctx := context.Background()
	var msgs []*message.Message
	for i := range 1200 { // 700 then 500: two pipelines, then one
		e := eventstore.Event{ID: uuid.New(), StreamID: fmt.Sprintf("order-%d", i), StreamVersion: 1, Type: "order.placed",
			Data: []byte(fmt.Sprintf(`{"n":%d}`, i))}
		msg, err := relay.ToMessage(e)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, msg)
	}
	watermillPub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: client}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	if err := watermillPub.Publish(prefix+"watermill", msgs...); err != nil {
		t.Fatal(err)
	}
	pub := relay.NewPipelinePublisher(client)
	if err := pub.Publish(prefix+"pipelined", msgs[:700]...); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(prefix+"pipelined", msgs[700:]...); err != nil {
		t.Fatal(err)
	}
	want := client.XRange(ctx, prefix+"watermill", "-", "+").Val()
	got := client.XRange(ctx, prefix+"pipelined", "-", "+").Val()
	if len(got) != len(msgs) || len(want) != len(msgs) {
		t.Fatalf("pipelined %d, watermill %d entries, want %d", len(got), len(want), len(msgs))
	}
	unmarshal := func(values map[string]any) *message.Message {
		m, err := redisstream.DefaultMarshallerUnmarshaller{}.Unmarshal(values)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for i := range got {
		// Metadata is a msgpack map, so compare decoded, not byte for byte.
		m, w := unmarshal(got[i].Values), unmarshal(want[i].Values)
		if !m.Equals(w) {
			t.Fatalf("entry %d: pipelined %v %s, watermill %v %s", i, m.Metadata, m.Payload, w.Metadata, w.Payload)
		}
		e, err := relay.FromMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		if m.UUID != msgs[i].UUID || e.StreamID != fmt.Sprintf("order-%d", i) {
			t.Fatalf("entry %d is %s of %s, want %s in order", i, m.UUID, e.StreamID, msgs[i].UUID)
		}
	}
}

func TestPipelinePublisherErrors(t *testing.T) {
	client, prefix := testenv.Redis(t)
	msg := message.NewMessage(uuid.NewString(), []byte(`{}`))
	if err := relay.NewPipelinePublisher(client).Publish(prefix + "empty"); err != nil {
		t.Fatalf("publishing nothing: %v", err)
	}
	closed := relay.NewPipelinePublisher(client)
	_ = closed.Close()
	if err := closed.Publish(prefix+"x", msg); err == nil {
		t.Fatal("a closed publisher published")
	}
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer down.Close()
	if err := relay.NewPipelinePublisher(down).Publish(prefix+"x", msg); err == nil {
		t.Fatal("publishing to an unreachable Redis succeeded")
	}
}

// A consumer blocked on a stream takes what one Publish wrote in one read:
// each round trip is a MULTI/EXEC, after which Redis serves blocked readers.
// After each XADD of a plain pipeline it would take the first entry alone.
func TestPipelinePublisherWakesABlockedReaderOnce(t *testing.T) {
	client, prefix := testenv.Redis(t)
	ctx := context.Background()
	stream := prefix + "order"
	if err := client.XGroupCreateMkStream(ctx, stream, "g", "$").Err(); err != nil {
		t.Fatal(err)
	}
	opts := *client.Options()
	opts.ClientName = "blocked-" + uuid.NewString()
	reader := redis.NewClient(&opts)
	defer reader.Close()
	read := make(chan int, 1)
	go func() {
		res, err := reader.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{stream, ">"},
			Count: 1000, Block: 10 * time.Second}).Result()
		if err != nil {
			t.Error(err)
			read <- 0
			return
		}
		read <- len(res[0].Messages)
	}()
	for deadline := time.Now().Add(5 * time.Second); !blocked(t, client, opts.ClientName); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the reader never blocked")
		}
	}
	var msgs []*message.Message
	for i := range 100 {
		msg, err := relay.ToMessage(eventstore.Event{ID: uuid.New(), StreamID: fmt.Sprintf("order-%d", i), Type: "order.placed"})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, msg)
	}
	if err := relay.NewPipelinePublisher(client).Publish(stream, msgs...); err != nil {
		t.Fatal(err)
	}
	if n := <-read; n != len(msgs) {
		t.Fatalf("the blocked reader took %d of the %d entries published at once", n, len(msgs))
	}
}

// blocked reports whether the connection named name waits in a blocking command.
func blocked(t *testing.T, client *redis.Client, name string) bool {
	t.Helper()
	list, err := client.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(list) {
		if strings.Contains(line, " name="+name+" ") {
			for field := range strings.FieldsSeq(line) {
				if flags, ok := strings.CutPrefix(field, "flags="); ok {
					return strings.Contains(flags, "b")
				}
			}
		}
	}
	return false
}
