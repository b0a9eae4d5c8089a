package domain

import (
	"errors"
	"slices"
	"testing"
)

// AllowedActions offers what the commands accept: each action it leaves out
// is refused for the order's state, each it lists is not.
func TestAllowedActionsMatchTheCommands(t *testing.T) {
	try := map[Action]step{
		ActionCancel: cancel,
		ActionPay:    pay,
		ActionRefund: refund("r9", 100),
		ActionFulfil: fulfil("f9", LineQuantity{"b", 1}),
		ActionAnnotate: func(o *Order) ([]Event, error) {
			note := "checked"
			return o.Annotate(&note, nil, t0)
		},
	}
	for _, tc := range []struct {
		name  string
		steps []step
		want  []Action
	}{
		{"placed", []step{place}, []Action{ActionCancel, ActionPay, ActionFulfil, ActionAnnotate}},
		{"paid", []step{place, pay}, []Action{ActionCancel, ActionRefund, ActionFulfil, ActionAnnotate}},
		{"partly shipped", []step{place, pay, fulfilPart}, []Action{ActionRefund, ActionFulfil, ActionAnnotate}},
		{"shipped", []step{place, pay, fulfilAll}, []Action{ActionRefund, ActionAnnotate}},
		{"voided", []step{place, cancel}, []Action{ActionAnnotate}},
		{"cancelled after payment", []step{place, pay, cancel}, []Action{ActionRefund, ActionAnnotate}},
		{"refunded", []step{place, pay, refund("r1", 3000)}, []Action{ActionCancel, ActionAnnotate}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &Order{}
			run(t, o, tc.steps...)
			got := o.AllowedActions()
			if !slices.Equal(got, tc.want) {
				t.Fatalf("allowed %v, want %v", got, tc.want)
			}
			if read := o.Snapshot().Statuses().AllowedActions(); !slices.Equal(read, got) {
				t.Fatalf("from the statuses alone %v, from the order %v", read, got)
			}
			for _, a := range orderActions {
				if a == ActionFulfil && o.Snapshot().FulfillmentStatus == FulfillmentFulfilled {
					continue // nothing left: refused per line, see AllowedActions
				}
				_, err := try[a](o)
				if refused := errors.Is(err, ErrInvalidTransition); refused == slices.Contains(got, a) {
					t.Errorf("%s: command says %v, allowed says %v", a, err, slices.Contains(got, a))
				}
			}
		})
	}
}
