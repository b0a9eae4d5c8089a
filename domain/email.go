package domain

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// EmailKind says why an email is sent; one source event sends at most one
// email of each kind.
type EmailKind string

// Email kinds.
const (
	EmailWelcome           EmailKind = "welcome"
	EmailOrderConfirmation EmailKind = "order_confirmation"
)

// emailNamespace is the fixed UUID v5 namespace of email outcome streams.
// Changing it would make every past email look unsent: never change it.
var emailNamespace = uuid.MustParse("0b8e6f52-93a4-4c1d-8f27-5d6a1e9c3b70")

// EmailStream is the outcome stream of the email of one kind caused by one
// source event: "email-<uuid v5 of source event id and kind>". Being derived,
// a redelivered source event finds the outcome of its first delivery.
func EmailStream(sourceEventID uuid.UUID, kind EmailKind) string {
	return "email-" + uuid.NewSHA1(emailNamespace, []byte(sourceEventID.String()+"/"+string(kind))).String()
}

// EmailSent records that SES accepted an email.
type EmailSent struct {
	To            string    `json:"to"`
	Subject       string    `json:"subject"`
	Kind          EmailKind `json:"kind"`
	SESMessageID  string    `json:"ses_message_id"`
	SourceEventID uuid.UUID `json:"source_event_id"`
	SentAt        time.Time `json:"sent_at"`
}

// EmailFailed records that SES refused an email for good (a rejected or
// suppressed address); sending it again needs a person to re-queue it.
type EmailFailed struct {
	To            string    `json:"to"`
	Subject       string    `json:"subject"`
	Kind          EmailKind `json:"kind"`
	Reason        string    `json:"reason"`
	SourceEventID uuid.UUID `json:"source_event_id"`
	FailedAt      time.Time `json:"failed_at"`
}

// EventType implements Event.
func (EmailSent) EventType() string { return "email.sent" }

// EventType implements Event.
func (EmailFailed) EventType() string { return "email.failed" }

// Email is the outcome of one email: nothing yet, failed, or sent. A failed
// email can still be sent when it is re-queued; a sent one is final.
type Email struct {
	sent, failed bool
	version      int
}

// NewEmailFromHistory rebuilds an email's outcome from its stream.
func NewEmailFromHistory(events []Event) (*Email, error) {
	m := &Email{}
	for _, e := range events {
		switch e.(type) {
		case EmailSent, EmailFailed:
		default:
			return nil, fmt.Errorf("email history holds %s: %w", e.EventType(), ErrUnknownEventType)
		}
		m.Apply(e)
	}
	return m, nil
}

// Apply changes the outcome by one event.
func (m *Email) Apply(e Event) {
	switch e.(type) {
	case EmailSent:
		m.sent = true
	case EmailFailed:
		m.failed = true
	}
	m.version++
}

// Sent reports whether SES accepted the email.
func (m *Email) Sent() bool { return m.sent }

// Failed reports whether SES refused the email at some point.
func (m *Email) Failed() bool { return m.failed }

// Version returns the number of events applied.
func (m *Email) Version() int { return m.version }

// RecordSent records SES's acceptance; an email already sent yields no events.
func (m *Email) RecordSent(e EmailSent) ([]Event, error) {
	if m.sent {
		return nil, nil
	}
	var f fieldErrors
	checkEmailHeader(&f, e.To, e.Kind, e.SourceEventID)
	if strings.TrimSpace(e.SESMessageID) == "" {
		f.add("ses_message_id", "is required")
	}
	if e.SentAt.IsZero() {
		f.add("sent_at", "is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	e.SentAt = e.SentAt.UTC()
	return []Event{e}, nil
}

// RecordFailed records a permanent refusal once: repeating it, or failing an
// email that was sent in the meantime, yields no events.
func (m *Email) RecordFailed(e EmailFailed) ([]Event, error) {
	if m.sent || m.failed {
		return nil, nil
	}
	var f fieldErrors
	checkEmailHeader(&f, e.To, e.Kind, e.SourceEventID)
	if strings.TrimSpace(e.Reason) == "" {
		f.add("reason", "is required")
	}
	if e.FailedAt.IsZero() {
		f.add("failed_at", "is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	e.FailedAt = e.FailedAt.UTC()
	return []Event{e}, nil
}

func checkEmailHeader(f *fieldErrors, to string, kind EmailKind, source uuid.UUID) {
	if !ValidEmail(to) {
		f.add("to", "must be an email address")
	}
	if kind != EmailWelcome && kind != EmailOrderConfirmation {
		f.add("kind", "must be %s or %s", EmailWelcome, EmailOrderConfirmation)
	}
	if source == uuid.Nil {
		f.add("source_event_id", "is required")
	}
}
