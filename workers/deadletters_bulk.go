package workers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// DeadLetterFilter selects a shop's open dead letters for a bulk re-queue.
// Empty fields match everything.
type DeadLetterFilter struct {
	Handler   string
	EventType string
	// Since and Until bound failed_at: [Since, Until).
	Since, Until time.Time
	// ErrorContains matches the last error, case-insensitively.
	ErrorContains string
}

// MaxBulkRequeue bounds how many dead letters one bulk re-queue touches; the
// preview says when more matched, and the rest go in a further run.
const MaxBulkRequeue = 500

// Matching returns the shop's open dead letters that f selects, oldest
// first, at most limit of them, and how many match in all.
func (d *DeadLetters) Matching(ctx context.Context, shop string, f DeadLetterFilter, limit int) ([]DeadLetter, int64, error) {
	where := `shop = $1 AND requeued_at IS NULL AND ($2 = '' OR handler = $2) AND ($3 = '' OR event_type = $3)
		AND ($4::timestamptz IS NULL OR failed_at >= $4) AND ($5::timestamptz IS NULL OR failed_at < $5)
		AND ($6 = '' OR strpos(lower(error), lower($6)) > 0)`
	args := []any{shop, f.Handler, f.EventType, optional(f.Since), optional(f.Until), f.ErrorContains}
	var total int64
	if err := d.store.Pool().QueryRow(ctx, `SELECT count(*) FROM dead_letters WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count dead letters: %w", err)
	}
	rows, err := d.store.Pool().Query(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters WHERE `+where+`
		ORDER BY id LIMIT `+fmt.Sprint(limit), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("match dead letters: %w", err)
	}
	items, err := pgx.CollectRows(rows, scanDeadLetter)
	return items, total, err
}

func optional(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// RequeueOutcome is what a bulk re-queue did, or in a dry run would do, with
// one dead letter.
type RequeueOutcome struct {
	DeadLetter  DeadLetter            `json:"dead_letter"`
	Explanation DeadLetterExplanation `json:"explanation"`
	// Result is would_requeue (dry run), requeued, or failed (Error says why).
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

// BulkRequeue is the report of a bulk re-queue or of its dry run.
type BulkRequeue struct {
	DryRun  bool             `json:"dry_run"`
	Matched int64            `json:"matched"`
	Items   []RequeueOutcome `json:"items"`
	// Requeued and Failed count the items; both are 0 in a dry run.
	Requeued int `json:"requeued"`
	Failed   int `json:"failed"`
}

// RequeueMatching re-queues the shop's open dead letters that f selects (at
// most MaxBulkRequeue, oldest first), or with dryRun only says what each
// would do. One that fails to re-queue stays open and is reported; the others
// still go.
func (d *DeadLetters) RequeueMatching(ctx context.Context, shop string, f DeadLetterFilter, dryRun bool) (BulkRequeue, error) {
	items, total, err := d.Matching(ctx, shop, f, MaxBulkRequeue)
	if err != nil {
		return BulkRequeue{}, err
	}
	r := BulkRequeue{DryRun: dryRun, Matched: total, Items: make([]RequeueOutcome, 0, len(items))}
	for _, dl := range items {
		o := RequeueOutcome{DeadLetter: dl, Explanation: ExplainDeadLetter(dl), Result: "would_requeue"}
		if !dryRun {
			done, err := d.Requeue(ctx, shop, dl.ID)
			if err != nil {
				o.Result, o.Error = "failed", err.Error()
				r.Failed++
			} else {
				o.DeadLetter, o.Result = done, "requeued"
				r.Requeued++
			}
		}
		r.Items = append(r.Items, o)
	}
	return r, nil
}

// DeadLetterExplanation says in plain words what failed, what a re-queue
// would do, and what the dead letter is about.
type DeadLetterExplanation struct {
	What   string `json:"what"`
	Why    string `json:"why"`
	Effect string `json:"effect"`
	// OrderID or InventoryKey name what the event was about, when it was one.
	OrderID      *uuid.UUID `json:"order_id"`
	InventoryKey string     `json:"inventory_key,omitempty"`
}

// ExplainDeadLetter describes dl for a merchant.
func ExplainDeadLetter(dl DeadLetter) DeadLetterExplanation {
	var x DeadLetterExplanation
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
	case WebhooksHandler:
		x.What = "Processing a Shopify webhook failed."
		x.Effect = "Processes the stored webhook again; what it already changed is not changed twice."
	case EmailHandlerName:
		x.What = "An email (" + dl.EventType + ") could not be handed to the mail service."
		x.Effect = "Asks the mail service to send the email again."
	case FulfillmentSyncHandlerName:
		x.What = "Telling Shopify about this order's fulfilment failed."
		x.Effect = "Calls Shopify again with the order's fulfilment."
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
