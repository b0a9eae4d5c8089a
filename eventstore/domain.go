package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/ordermill/ordermill/domain"
)

// Encode wraps domain events for appending, all with the same tenant and metadata.
func Encode(tenant string, meta Metadata, events ...domain.Event) ([]NewEvent, error) {
	out := make([]NewEvent, len(events))
	for i, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", e.EventType(), err)
		}
		out[i] = NewEvent{Type: e.EventType(), Tenant: tenant, Data: data, Metadata: meta}
	}
	return out, nil
}

// DecodeEvent turns a stored event's type and payload back into its domain
// event, as domain.DecodeEvent does, with go-json's decoder: encoding/json's
// reflection took half the CPU of a projection rebuild, and go-json decodes
// the same payloads into the same values (decode_test.go checks every event
// type) in about a quarter of the time. It is already in the module graph,
// as one of Gin's JSON codecs.
func DecodeEvent(eventType string, data []byte) (domain.Event, error) {
	return domain.DecodeEventWith(eventType, data, gojson.Unmarshal)
}

// Decode turns stored events back into domain events.
func Decode(events []Event) ([]domain.Event, error) {
	out := make([]domain.Event, len(events))
	for i, e := range events {
		d, err := DecodeEvent(e.Type, e.Data)
		if err != nil {
			return nil, fmt.Errorf("%s v%d: %w", e.StreamID, e.StreamVersion, err)
		}
		out[i] = d
	}
	return out, nil
}

// Update is load–decide–append for one aggregate: it reads the stream, hands
// its history to decide, and appends what decide returns at the version it
// read. With AnyVersion a concurrent writer's conflict is retried on fresh
// history; with an exact version (a client's If-Match) a mismatch is a
// ConflictError at once. decide returning no events appends nothing.
// Retries wait a short random while, so that writers racing on a hot stream
// (one SKU's stock, reserved by many orders at once) spread out.
func (s *Store) Update(ctx context.Context, stream string, expected ExpectedVersion,
	decide func(history []Event) ([]NewEvent, error)) (AppendResult, error) {
	const attempts = 10
	for attempt := 1; ; attempt++ {
		history, err := s.ReadStream(ctx, stream, 1)
		if err != nil && !errors.Is(err, ErrStreamNotFound) {
			return AppendResult{}, err
		}
		version := int64(len(history))
		if expected != AnyVersion && int64(expected) != version {
			return AppendResult{}, &ConflictError{Stream: stream, Expected: expected}
		}
		events, err := decide(history)
		if err != nil {
			return AppendResult{}, err
		}
		if len(events) == 0 {
			res := AppendResult{Stream: stream, Version: version}
			if version > 0 {
				res.Position = history[version-1].Position
			}
			return res, nil
		}
		res, err := s.Append(ctx, stream, Exact(version), events...)
		if errors.Is(err, ErrConcurrency) && expected == AnyVersion && attempt < attempts {
			if WaitToRetry(ctx, attempt) != nil {
				return res, err
			}
			continue
		}
		return res, err
	}
}

// WaitToRetry waits a short random time, longer with each attempt, before a
// write that lost a version conflict decides again, so that racing writers
// spread out. It returns ctx's error if ctx ends first.
func WaitToRetry(ctx context.Context, attempt int) error {
	t := time.NewTimer(rand.N(time.Duration(attempt) * 2 * time.Millisecond))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
