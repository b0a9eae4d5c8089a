package domain

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// Every way the domain refuses a command is a rejection, however wrapped;
// failures of the infrastructure are not, so they are retried.
func TestIsRejection(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{invalid("email", "is required"), true},
		{&TransitionError{From: StatusCancelled, Action: "pay"}, true},
		{fmt.Errorf("order 7: %w", ErrOverRefund), true},
		{ErrOverFulfilment, true},
		{fmt.Errorf("shop: %w", ErrNotFound), true},
		{context.DeadlineExceeded, false},
		{errors.New("connection refused"), false},
		{nil, false},
	} {
		if got := IsRejection(tc.err); got != tc.want {
			t.Errorf("IsRejection(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
