package domain

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ReportKind names what a report contains.
type ReportKind string

// ReportSalesSummary is one CSV row per day and currency: orders, gross,
// refunds and net.
const ReportSalesSummary ReportKind = "sales_summary"

// Report lifecycle states.
const (
	StatusRequested Status = "requested"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
)

// MaxReportDays bounds a report's date range so one request cannot ask the
// worker for years of orders.
const MaxReportDays = 366

// DateLayout is how report dates are written: calendar days, in UTC.
const DateLayout = "2006-01-02"

// ReportStream is the stream of one report: "report-<uuid>".
func ReportStream(id uuid.UUID) string { return "report-" + id.String() }

// ReportRequested records that someone asked for a report of a shop over the
// days From to To inclusive (YYYY-MM-DD, UTC).
type ReportRequested struct {
	ReportID    uuid.UUID  `json:"report_id"`
	Shop        string     `json:"shop"`
	Kind        ReportKind `json:"kind"`
	From        string     `json:"from"`
	To          string     `json:"to"`
	RequestedBy string     `json:"requested_by"`
	RequestedAt time.Time  `json:"requested_at"`
}

// ReportCompleted records that the report's file was stored.
type ReportCompleted struct {
	Rows        int       `json:"rows"`
	Bytes       int       `json:"bytes"`
	CompletedAt time.Time `json:"completed_at"`
}

// ReportFailed records that the report cannot be built.
type ReportFailed struct {
	Reason   string    `json:"reason"`
	FailedAt time.Time `json:"failed_at"`
}

// EventType implements Event.
func (ReportRequested) EventType() string { return "report.requested" }

// EventType implements Event.
func (ReportCompleted) EventType() string { return "report.completed" }

// EventType implements Event.
func (ReportFailed) EventType() string { return "report.failed" }

// RequestReportCommand is the input of RequestReport.
type RequestReportCommand struct {
	ReportID    uuid.UUID
	Shop        string
	Kind        ReportKind
	From, To    string // YYYY-MM-DD
	RequestedBy string // the principal, for the audit trail
	At          time.Time
}

// RequestReport validates a report request and returns its report.requested event.
func RequestReport(cmd RequestReportCommand) ([]Event, error) {
	var f fieldErrors
	if cmd.ReportID == uuid.Nil {
		f.add("id", "is required")
	}
	if !ValidShopDomain(cmd.Shop) {
		f.add("shop", "must be a shop domain like demo.myshopify.com")
	}
	if cmd.Kind != ReportSalesSummary {
		f.add("kind", "must be %s", ReportSalesSummary)
	}
	from, errFrom := time.Parse(DateLayout, cmd.From)
	if errFrom != nil {
		f.add("from", "must be a date like 2025-01-31")
	}
	to, errTo := time.Parse(DateLayout, cmd.To)
	if errTo != nil {
		f.add("to", "must be a date like 2025-01-31")
	}
	if errFrom == nil && errTo == nil {
		switch days := int(to.Sub(from).Hours()/24) + 1; {
		case days < 1:
			f.add("to", "must not be before from")
		case days > MaxReportDays:
			f.add("to", "must be at most %d days after from", MaxReportDays-1)
		}
	}
	if strings.TrimSpace(cmd.RequestedBy) == "" {
		f.add("requested_by", "is required")
	}
	if cmd.At.IsZero() {
		f.add("requested_at", "is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return []Event{ReportRequested{
		ReportID: cmd.ReportID, Shop: cmd.Shop, Kind: cmd.Kind, From: cmd.From, To: cmd.To,
		RequestedBy: cmd.RequestedBy, RequestedAt: cmd.At.UTC(),
	}}, nil
}

// ReportState is a read-only copy of a report.
type ReportState struct {
	ID          uuid.UUID  `json:"id"`
	Shop        string     `json:"shop"`
	Kind        ReportKind `json:"kind"`
	From        string     `json:"from"`
	To          string     `json:"to"`
	Status      Status     `json:"status"`
	Rows        int        `json:"rows"`
	Bytes       int        `json:"bytes"`
	Reason      string     `json:"reason"`
	RequestedAt time.Time  `json:"requested_at"`
	FinishedAt  time.Time  `json:"finished_at"`
	Version     int        `json:"version"`
}

// Report is the report aggregate: requested, then completed or failed, once.
type Report struct {
	s ReportState
}

// NewReportFromHistory rebuilds a report from its stream, which must start
// with report.requested.
func NewReportFromHistory(events []Event) (*Report, error) {
	if len(events) == 0 {
		return nil, fmt.Errorf("report: %w", ErrNotFound)
	}
	if _, ok := events[0].(ReportRequested); !ok {
		return nil, fmt.Errorf("report history starts with %s, not report.requested: %w", events[0].EventType(), ErrUnknownEventType)
	}
	r := &Report{}
	for _, e := range events {
		switch e.(type) {
		case ReportRequested, ReportCompleted, ReportFailed:
		default:
			return nil, fmt.Errorf("report history holds %s: %w", e.EventType(), ErrUnknownEventType)
		}
		r.Apply(e)
	}
	return r, nil
}

// Apply changes the report's state by one event.
func (r *Report) Apply(e Event) {
	r.s.Version++
	switch e := e.(type) {
	case ReportRequested:
		r.s = ReportState{
			ID: e.ReportID, Shop: e.Shop, Kind: e.Kind, From: e.From, To: e.To,
			Status: StatusRequested, RequestedAt: e.RequestedAt.UTC(), Version: r.s.Version,
		}
	case ReportCompleted:
		r.s.Status, r.s.Rows, r.s.Bytes, r.s.FinishedAt = StatusCompleted, e.Rows, e.Bytes, e.CompletedAt.UTC()
	case ReportFailed:
		r.s.Status, r.s.Reason, r.s.FinishedAt = StatusFailed, e.Reason, e.FailedAt.UTC()
	}
}

// Snapshot returns the report's state.
func (r *Report) Snapshot() ReportState { return r.s }

// Range returns the report's days as a half-open UTC interval [start, end).
func (r *Report) Range() (start, end time.Time) {
	start, _ = time.Parse(DateLayout, r.s.From)
	end, _ = time.Parse(DateLayout, r.s.To)
	return start, end.AddDate(0, 0, 1)
}

// Complete records the stored file; completing twice yields no events, and a
// failed report cannot complete.
func (r *Report) Complete(rows, bytes int, at time.Time) ([]Event, error) {
	switch r.s.Status {
	case StatusCompleted:
		return nil, nil
	case StatusFailed:
		return nil, &TransitionError{From: r.s.Status, Action: "complete"}
	}
	var f fieldErrors
	if rows < 0 {
		f.add("rows", "must not be negative")
	}
	if bytes <= 0 {
		f.add("bytes", "must be positive")
	}
	if at.IsZero() {
		f.add("completed_at", "is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return []Event{ReportCompleted{Rows: rows, Bytes: bytes, CompletedAt: at.UTC()}}, nil
}

// Fail records why the report cannot be built; failing twice yields no
// events, and a completed report cannot fail.
func (r *Report) Fail(reason string, at time.Time) ([]Event, error) {
	switch r.s.Status {
	case StatusFailed:
		return nil, nil
	case StatusCompleted:
		return nil, &TransitionError{From: r.s.Status, Action: "fail"}
	}
	var f fieldErrors
	reason = strings.TrimSpace(reason)
	if reason == "" {
		f.add("reason", "is required")
	}
	if at.IsZero() {
		f.add("failed_at", "is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return []Event{ReportFailed{Reason: reason, FailedAt: at.UTC()}}, nil
}
