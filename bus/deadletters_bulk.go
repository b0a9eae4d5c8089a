package bus

import (
	"context"
	"fmt"
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
// would do, each explained by explain. One that fails to re-queue stays open and is reported; the others
// still go.
func (d *DeadLetters) RequeueMatching(ctx context.Context, shop string, f DeadLetterFilter, dryRun bool, explain func(DeadLetter) DeadLetterExplanation) (BulkRequeue, error) {
	items, total, err := d.Matching(ctx, shop, f, MaxBulkRequeue)
	if err != nil {
		return BulkRequeue{}, err
	}
	r := BulkRequeue{DryRun: dryRun, Matched: total, Items: make([]RequeueOutcome, 0, len(items))}
	for _, dl := range items {
		o := RequeueOutcome{DeadLetter: dl, Explanation: explain(dl), Result: "would_requeue"}
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
