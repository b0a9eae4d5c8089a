package workers

import (
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/bus"
)

// ExplainDeadLetter describes dl for a merchant.
func ExplainDeadLetter(dl bus.DeadLetter) bus.DeadLetterExplanation {
	var x bus.DeadLetterExplanation
	category, id, _ := strings.Cut(dl.StreamID, "-")
	switch category {
	case "order":
		if u, err := uuid.Parse(id); err == nil {
			x.OrderID = &u
		}
	case "inventory":
		if _, key, ok := strings.Cut(id, ":"); ok {
			x.InventoryKey = key
		}
	}
	switch dl.Handler {
	case app.WebhooksHandler:
		x.What = "Processing a Shopify webhook failed."
		x.Effect = "Processes the stored webhook again; what it already changed is not changed twice."
	case EmailHandlerName:
		x.What = "An email (" + dl.EventType + ") could not be handed to the mail service."
		x.Effect = "Asks the mail service to send the email again."
	case InventoryHandlerName:
		x.What = "Moving stock for this order (" + dl.EventType + ") failed."
		x.Effect = "Applies the stock movement again; a movement already applied is not applied twice."
	case ReportsHandlerName:
		x.What = "Building a report failed."
		x.Effect = "Builds the report again."
	default:
		x.What = "The " + dl.Handler + " step failed on " + dl.EventType + "."
		x.Effect = "Hands the event to " + dl.Handler + " again."
	}
	x.Why = fmt.Sprintf("It failed %d times; the last error was: %s", dl.Attempts, plainError(dl.Error))
	return x
}

// plainError prefixes common technical failures with what they mean.
func plainError(msg string) string {
	lower := strings.ToLower(msg)
	for _, k := range []struct{ needle, meaning string }{
		{"insufficient stock", "there was not enough stock on hand to ship it; add stock, then re-queue"},
		{"suppression list", "the mail service will not send to this address"},
		{"429", "the other service asked us to slow down"},
		{"deadline exceeded", "the other service did not answer in time"},
		{"timeout", "the other service did not answer in time"},
		{"connection refused", "the other service could not be reached"},
		{"no such host", "the other service's address could not be found"},
		{"401", "the other service refused our credentials"},
		{"403", "the other service refused our credentials"},
		{"not found", "something it needed no longer exists"},
	} {
		if strings.Contains(lower, k.needle) {
			return k.meaning + " (" + msg + ")"
		}
	}
	return msg
}
