package domain

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

func reportCmd() RequestReportCommand {
	return RequestReportCommand{
		ReportID: uuid.New(), Shop: "demo.myshopify.com", Kind: ReportSalesSummary,
		From: "2025-01-30", To: "2025-02-02", RequestedBy: "user-1", At: time.Now(),
	}
}

func TestRequestReportValidation(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*RequestReportCommand)
		field string
	}{
		{"unknown kind", func(c *RequestReportCommand) { c.Kind = "tax" }, "kind"},
		{"bad from", func(c *RequestReportCommand) { c.From = "30/01/2025" }, "from"},
		{"bad to", func(c *RequestReportCommand) { c.To = "2025-02-30" }, "to"},
		{"reversed", func(c *RequestReportCommand) { c.From, c.To = "2025-02-02", "2025-01-30" }, "to"},
		{"too long", func(c *RequestReportCommand) { c.From, c.To = "2024-01-01", "2025-01-01" }, "to"},
		{"no shop", func(c *RequestReportCommand) { c.Shop = "" }, "shop"},
		{"no requester", func(c *RequestReportCommand) { c.RequestedBy = " " }, "requested_by"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := reportCmd()
			tt.edit(&cmd)
			_, err := RequestReport(cmd)
			var v *ValidationError
			if !errors.As(err, &v) || len(v.Fields) != 1 || v.Fields[0].Field != tt.field {
				t.Fatalf("want one error on %s, got %v", tt.field, err)
			}
		})
	}
	cmd := reportCmd()
	cmd.From, cmd.To = "2024-01-01", "2024-12-31" // 366 days, a leap year
	if _, err := RequestReport(cmd); err != nil {
		t.Fatalf("a full leap year is allowed: %v", err)
	}
}

func TestReportLifecycle(t *testing.T) {
	evs, err := RequestReport(reportCmd())
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReportFromHistory(evs)
	if err != nil || r.Snapshot().Status != StatusRequested || r.Snapshot().Version != 1 {
		t.Fatalf("requested: %v %+v", err, r.Snapshot())
	}
	start, end := r.Range()
	if !start.Equal(time.Date(2025, 1, 30, 0, 0, 0, 0, time.UTC)) || !end.Equal(time.Date(2025, 2, 3, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("range %v – %v", start, end)
	}
	at := time.Now()
	done, err := r.Complete(4, 120, at)
	if err != nil || len(done) != 1 {
		t.Fatalf("complete: %v %+v", err, done)
	}
	r.Apply(done[0])
	s := r.Snapshot()
	if s.Status != StatusCompleted || s.Rows != 4 || s.Bytes != 120 || s.Version != 2 || s.FinishedAt.IsZero() {
		t.Fatalf("completed: %+v", s)
	}
	if again, err := r.Complete(4, 120, at); err != nil || len(again) != 0 {
		t.Fatalf("complete twice: %v %+v", err, again)
	}
	if _, err := r.Fail("late", at); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("fail after complete: %v", err)
	}

	failed, _ := NewReportFromHistory(evs)
	f, err := failed.Fail("too large", at)
	if err != nil || len(f) != 1 {
		t.Fatalf("fail: %v", err)
	}
	failed.Apply(f[0])
	if failed.Snapshot().Status != StatusFailed || failed.Snapshot().Reason != "too large" {
		t.Fatalf("failed: %+v", failed.Snapshot())
	}
	if _, err := failed.Complete(1, 1, at); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("complete after fail: %v", err)
	}
	if _, err := NewReportFromHistory(nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty history: %v", err)
	}
}
