package domain

// Action names a command a client may send an order.
type Action string

// The order actions, in the order AllowedActions lists them.
const (
	ActionCancel   Action = "cancel"
	ActionPay      Action = "pay"
	ActionRefund   Action = "refund"
	ActionFulfil   Action = "fulfil"
	ActionAnnotate Action = "annotate" // note and tags
)

var orderActions = []Action{ActionCancel, ActionPay, ActionRefund, ActionFulfil, ActionAnnotate}

// OrderStatuses are the facts an order's actions depend on, as both the
// aggregate and its read model hold them.
type OrderStatuses struct {
	Status            Status
	FinancialStatus   FinancialStatus
	FulfillmentStatus FulfillmentStatus
	Cancelled         bool
}

// Statuses returns the facts of the order that its actions depend on.
func (s OrderState) Statuses() OrderStatuses {
	return OrderStatuses{Status: s.Status, FinancialStatus: s.FinancialStatus, FulfillmentStatus: s.FulfillmentStatus,
		Cancelled: !s.CancelledAt.IsZero()}
}

// refusal is the *TransitionError of an action the order's state forbids,
// nil when it allows it. The commands check it, so that what AllowedActions
// offers and what the commands accept cannot drift apart.
func (s OrderStatuses) refusal(a Action) error {
	var allowed bool
	switch a {
	case ActionCancel: // an order that has shipped nothing
		allowed = !s.Cancelled && s.FulfillmentStatus == FulfillmentUnfulfilled
	case ActionPay:
		allowed = !s.Cancelled && isUnpaid(s.FinancialStatus)
	case ActionRefund: // cancelled or not
		allowed = s.FinancialStatus == FinancialPaid || s.FinancialStatus == FinancialPartiallyRefunded
	case ActionFulfil: // unpaid orders too, as Shopify allows (merchants ship on invoice)
		allowed = !s.Cancelled && s.FinancialStatus != FinancialRefunded
	case ActionAnnotate: // in any state, cancelled too, as Shopify's orderUpdate allows
		allowed = true
	}
	if allowed {
		return nil
	}
	return &TransitionError{From: s.Status, Action: string(a)}
}

// AllowedActions lists the actions the order's state allows: what a client
// should offer. A fully fulfilled order is not offered fulfil, since every
// line would exceed its unfulfilled quantity (ErrOverFulfilment).
func (s OrderStatuses) AllowedActions() []Action {
	out := []Action{}
	for _, a := range orderActions {
		if a == ActionFulfil && s.FulfillmentStatus == FulfillmentFulfilled {
			continue
		}
		if s.refusal(a) == nil {
			out = append(out, a)
		}
	}
	return out
}

// AllowedActions lists the actions the order's state allows now.
func (o *Order) AllowedActions() []Action { return o.s.Statuses().AllowedActions() }
