package eventstore

import (
	"errors"
	"fmt"
)

// ErrConcurrency is wrapped by every optimistic-concurrency conflict.
var ErrConcurrency = errors.New("wrong expected version")

// ErrDuplicateEvent means an event with the same id is already stored: the
// write it belongs to has happened before.
var ErrDuplicateEvent = errors.New("event already stored")

// ErrStreamNotFound is returned when reading a stream that has no events.
var ErrStreamNotFound = errors.New("stream not found")

// ConflictError says which stream conflicted and what the caller expected.
type ConflictError struct {
	Stream   string
	Expected ExpectedVersion
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("stream %s: %s %s", e.Stream, ErrConcurrency, e.Expected)
}

func (e *ConflictError) Unwrap() error { return ErrConcurrency }
