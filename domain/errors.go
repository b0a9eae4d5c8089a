package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every rejected command returns one of them, a
// *TransitionError or a *ValidationError, so callers map errors to responses
// with errors.Is and errors.As instead of matching text.
var (
	// ErrInvalidTransition is matched by every *TransitionError.
	ErrInvalidTransition = errors.New("invalid state transition")
	// ErrOverFulfilment means a fulfilment asks for more units than remain unfulfilled.
	ErrOverFulfilment = errors.New("fulfilment exceeds unfulfilled quantity")
	// ErrOverRefund means a refund exceeds what was paid or what was ordered.
	ErrOverRefund = errors.New("refund exceeds paid amount or ordered quantity")
	// ErrNotFound means a command was sent to an aggregate that has no events yet.
	ErrNotFound = errors.New("not found")
)

// IsRejection reports whether err is the domain refusing a command, for its
// input or for the aggregate's state, rather than a failure that a retry
// could fix. It is the one list of business rejections: the API answers them
// 4xx and the webhook processor records them as failed, not retried.
func IsRejection(err error) bool {
	var validation *ValidationError
	return errors.As(err, &validation) || errors.Is(err, ErrInvalidTransition) ||
		errors.Is(err, ErrOverFulfilment) || errors.Is(err, ErrOverRefund) ||
		errors.Is(err, ErrNotFound)
}

// TransitionError reports a command that the aggregate's current state forbids.
type TransitionError struct {
	From   Status
	Action string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("cannot %s: state is %s", e.Action, e.From)
}

// Is lets errors.Is(err, ErrInvalidTransition) match any transition error.
func (e *TransitionError) Is(target error) bool { return target == ErrInvalidTransition }

// FieldError names one invalid input field and says what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError reports command input or payload fields that are invalid.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// fieldErrors collects problems so one response can list all of them.
type fieldErrors []FieldError

func (f *fieldErrors) add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// err returns nil (a true nil interface, not a typed nil) when nothing was added.
func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &ValidationError{Fields: f}
}

// invalid is shorthand for a ValidationError with a single field.
func invalid(field, format string, args ...any) error {
	var f fieldErrors
	f.add(field, format, args...)
	return f.err()
}
