package app

import (
	"strconv"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/eventstore"
)

// OutcomeNamespace is the UUID v5 namespace of handler outcome event ids.
// Changing it would let redelivered events record their outcomes twice.
var OutcomeNamespace = uuid.MustParse("3c0f7a52-8e41-4d7b-a9f6-2b1e5d0c8a93")

// Outcome prepares the events handler appends to stream in reaction to
// source: each gets an id derived from (handler, source, stream, index), so a
// redelivered source that appends again is refused as ErrDuplicateEvent, and
// metadata naming source as the cause, with its correlation id.
func Outcome(handler string, source eventstore.Event, stream string, events []eventstore.NewEvent) []eventstore.NewEvent {
	meta := OutcomeMetadata(handler, source)
	for i := range events {
		name := handler + "/" + source.ID.String() + "/" + stream + "/" + strconv.Itoa(i)
		events[i].ID = uuid.NewSHA1(OutcomeNamespace, []byte(name))
		events[i].Metadata = meta
	}
	return events
}

// CausedBy makes Update and Append give the events handler appends because
// of source their Outcome ids and metadata.
func CausedBy(handler string, source eventstore.Event) Option {
	return EventIDs(func(stream string, events []eventstore.NewEvent) []eventstore.NewEvent {
		return Outcome(handler, source, stream, events)
	})
}

// OutcomeMetadata is the metadata of events handler appends because of source.
func OutcomeMetadata(handler string, source eventstore.Event) eventstore.Metadata {
	correlation := source.Metadata.CorrelationID
	if correlation == "" {
		correlation = source.ID.String()
	}
	return eventstore.Metadata{
		CorrelationID: correlation,
		CausationID:   source.ID.String(),
		Actor:         "worker:" + handler,
		Source:        "worker",
		TraceParent:   source.Metadata.TraceParent, // what it caused stays in the caller's trace
	}
}
