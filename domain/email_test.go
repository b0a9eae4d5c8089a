package domain

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestEmailStreamIsDeterministicPerSourceAndKind(t *testing.T) {
	src := uuid.MustParse("33333333-3333-4333-8333-333333333333")
	a := EmailStream(src, EmailWelcome)
	if a != EmailStream(src, EmailWelcome) || !strings.HasPrefix(a, "email-") {
		t.Fatalf("stream %q is not stable", a)
	}
	if _, err := uuid.Parse(strings.TrimPrefix(a, "email-")); err != nil {
		t.Fatalf("stream %q: %v", a, err)
	}
	if a == EmailStream(src, EmailOrderConfirmation) || a == EmailStream(uuid.New(), EmailWelcome) {
		t.Fatal("different source or kind must give a different stream")
	}
}

func TestEmailOutcomes(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	src := uuid.New()
	sent := EmailSent{To: "a@example.com", Subject: "Hi", Kind: EmailWelcome, SESMessageID: "m1", SourceEventID: src, SentAt: at}
	failed := EmailFailed{To: "a@example.com", Subject: "Hi", Kind: EmailWelcome, Reason: "MessageRejected", SourceEventID: src, FailedAt: at}

	m, _ := NewEmailFromHistory(nil)
	evs, err := m.RecordFailed(failed)
	if err != nil || len(evs) != 1 || evs[0].(EmailFailed).FailedAt.Location() != time.UTC {
		t.Fatalf("first failure: %v %+v", err, evs)
	}
	m.Apply(evs[0])
	if evs, err := m.RecordFailed(failed); err != nil || len(evs) != 0 {
		t.Fatalf("second failure must record nothing: %v %+v", err, evs)
	}
	// A re-queued failed email may still go out.
	evs, err = m.RecordSent(sent)
	if err != nil || len(evs) != 1 {
		t.Fatalf("sent after failure: %v %+v", err, evs)
	}
	m.Apply(evs[0])
	if !m.Sent() || !m.Failed() || m.Version() != 2 {
		t.Fatalf("state: sent %v failed %v version %d", m.Sent(), m.Failed(), m.Version())
	}
	if evs, _ := m.RecordSent(sent); len(evs) != 0 {
		t.Fatalf("sent twice: %+v", evs)
	}
	if evs, _ := m.RecordFailed(failed); len(evs) != 0 {
		t.Fatalf("failed after sent: %+v", evs)
	}
}

func TestEmailValidation(t *testing.T) {
	m := &Email{}
	_, err := m.RecordSent(EmailSent{To: "nope", Kind: "spam"})
	var v *ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("want ValidationError, got %v", err)
	}
	fields := map[string]bool{}
	for _, f := range v.Fields {
		fields[f.Field] = true
	}
	for _, want := range []string{"to", "kind", "source_event_id", "ses_message_id", "sent_at"} {
		if !fields[want] {
			t.Errorf("missing field error %q in %v", want, v)
		}
	}
	if _, err := NewEmailFromHistory([]Event{OrderPaid{}}); !errors.Is(err, ErrUnknownEventType) {
		t.Errorf("foreign history: %v", err)
	}
}
