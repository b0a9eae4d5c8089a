package relay

import (
	"context"
	"errors"
	"fmt"

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
	return p.xadd(msgs[0].Context(), []topicBatch{{topic: topic, entries: entries}})
}

// xadd appends one stream entry per field-value list of each topic, in
// order, PipelineDepth per round trip. Each round trip is a MULTI/EXEC
// transaction (the relayed streams share one hash slot, so a cluster takes
// it too): Redis serves a consumer blocked on the streams once the whole
// transaction has run, so it reads a batch at once and not its first entry
// alone, then the rest a read later.
func (p *PipelinePublisher) xadd(ctx context.Context, topics []topicBatch) error {
	if p.closed {
		return errors.New("publisher closed")
	}
	pipe := p.client.TxPipeline()
	flush := func() error {
		n := pipe.Len()
		if n == 0 {
			return nil
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("xadd %d messages: %w", n, err)
		}
		return nil
	}
	for _, t := range topics {
		for _, values := range t.entries {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: t.topic, Values: values})
			if pipe.Len() == PipelineDepth {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// Close stops further publishing; the client belongs to the caller.
func (p *PipelinePublisher) Close() error {
	p.closed = true
	return nil
}
