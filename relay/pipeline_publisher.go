package relay

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"
)

// PipelineDepth is how many XADDs a PipelinePublisher sends per round trip.
// Beyond a few hundred a deeper pipeline saves little, and it bounds what
// one write buffers on each side.
const PipelineDepth = 500

// PipelinePublisher publishes to Redis Streams like watermill-redisstream's
// Publisher, with the same marshaller, so its subscribers read the messages
// unchanged; but it sends the messages of one Publish call in pipelines of
// PipelineDepth. The relay publishes a whole batch per call, so that is one
// round trip per PipelineDepth events instead of one per event.
type PipelinePublisher struct {
	client     redis.UniversalClient
	marshaller redisstream.Marshaller
	closed     bool
}

// NewPipelinePublisher publishes through client with watermill-redisstream's
// default marshaller.
func NewPipelinePublisher(client redis.UniversalClient) *PipelinePublisher {
	return &PipelinePublisher{client: client, marshaller: redisstream.DefaultMarshallerUnmarshaller{}}
}

// Publish appends msgs to the stream topic in order. On error some of them
// may have been added; the relay then publishes the batch again
// (at-least-once), as it does after any failed publish.
func (p *PipelinePublisher) Publish(topic string, msgs ...*message.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	entries := make([]any, len(msgs))
	for i, msg := range msgs {
		values, err := p.marshaller.Marshal(topic, msg)
		if err != nil {
			return fmt.Errorf("marshal message %s: %w", msg.UUID, err)
		}
		entries[i] = values
	}
	// The pipeline goes out as one write, so one context bounds it.
	return p.xadd(msgs[0].Context(), topic, entries)
}

// xadd appends one stream entry per field-value list, in order, PipelineDepth
// per round trip.
func (p *PipelinePublisher) xadd(ctx context.Context, topic string, entries []any) error {
	if p.closed {
		return errors.New("publisher closed")
	}
	for chunk := range slices.Chunk(entries, PipelineDepth) {
		pipe := p.client.Pipeline()
		for _, values := range chunk {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: topic, Values: values})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("xadd %d messages to %s: %w", len(chunk), topic, err)
		}
	}
	return nil
}

// Close stops further publishing; the client belongs to the caller.
func (p *PipelinePublisher) Close() error {
	p.closed = true
	return nil
}
