package workers_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/projections"
	"github.com/ordermill/ordermill/workers"
)

type sesMessage struct {
	MessageID string   `json:"message_id"`
	From      string   `json:"from"`
	To        []string `json:"to"`
	Subject   string   `json:"subject"`
	Body      string   `json:"body"`
}

func sesMessages(t *testing.T, sim string) []sesMessage {
	t.Helper()
	var got struct{ Messages []sesMessage }
	call(t, "GET", sim+"/_sim/ses/messages", nil, &got)
	return got.Messages
}

func registerUser(t *testing.T, s *stack, email string) eventstore.Event {
	t.Helper()
	id := uuid.New()
	events, err := domain.RegisterUser(domain.RegisterUserCommand{
		UserID: id, Shop: testShop, Email: email, Name: "Ada", Role: domain.RoleStaff,
		Password: "tidal-orchard-lantern", At: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s.append(t, domain.UserStream(id), testShop, eventstore.NoStream, events...)[0]
}

func placeOrder(t *testing.T, s *stack, name, email string, placedAt time.Time, lines ...domain.PlacedLine) eventstore.Event {
	t.Helper()
	id := uuid.New()
	var total int64
	for _, l := range lines {
		total += l.UnitPrice * int64(l.Quantity)
	}
	events, err := domain.PlaceOrder(domain.PlaceOrderCommand{
		OrderID: id, Shop: testShop, Name: name, Source: domain.SourceAPI, Email: email, CustomerName: "Grace",
		Currency: "USD", Lines: lines, Subtotal: total, Total: total, PlacedAt: placedAt,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s.append(t, domain.OrderStream(id), testShop, eventstore.NoStream, events...)[0]
}

func outcome(t *testing.T, s *stack, source eventstore.Event, kind domain.EmailKind) []eventstore.Event {
	t.Helper()
	events, err := s.store.ReadStream(s.ctx, domain.EmailStream(source.ID, kind), 1)
	if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatal(err)
	}
	return events
}

func eventTypes(events []eventstore.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Type)
	}
	return out
}

func TestEmailWorkerSendsAndRecordsOnce(t *testing.T) {
	s := newStack(t)
	sim := startSimulator(t)
	worker := workers.NewEmailWorker(s.store, workers.NewMailer(workers.MailerConfig{Endpoint: sim, From: "orders@ordermill.test"}), nil)
	s.runWorkers(t, worker.Handler())
	s.runProjectors(t, projections.NewEmails())

	user := registerUser(t, s, "ada@example.test")
	order := placeOrder(t, s, "#1001", "grace@example.test", time.Now(),
		domain.PlacedLine{ID: "1", SKU: "MUG", Title: "Mug", Quantity: 2, UnitPrice: 1250})
	placeOrder(t, s, "#1002", "", time.Now(), domain.PlacedLine{ID: "1", SKU: "MUG", Title: "Mug", Quantity: 1, UnitPrice: 1250})

	waitFor(t, "two sent emails in emails_view", func() bool {
		return s.count(t, `SELECT count(*) FROM emails_view WHERE status = 'sent'`) == 2
	})
	msgs := sesMessages(t, sim)
	if len(msgs) != 2 {
		t.Fatalf("SES received %d messages, want 2 (none for the order without email): %+v", len(msgs), msgs)
	}
	for _, tc := range []struct {
		source  eventstore.Event
		kind    domain.EmailKind
		to      string
		subject string
		body    string
	}{
		{user, domain.EmailWelcome, "ada@example.test", "Welcome to Ordermill, Ada", "your staff account for " + testShop},
		{order, domain.EmailOrderConfirmation, "grace@example.test", "Order #1001 confirmed", "2 × Mug  25.00 USD"},
	} {
		i := slices.IndexFunc(msgs, func(m sesMessage) bool { return m.Subject == tc.subject })
		if i < 0 || msgs[i].To[0] != tc.to || msgs[i].From != "orders@ordermill.test" || !strings.Contains(msgs[i].Body, tc.body) {
			t.Fatalf("%s: messages %+v", tc.kind, msgs)
		}
		events := outcome(t, s, tc.source, tc.kind)
		if got := eventTypes(events); !slices.Equal(got, []string{"email.sent"}) {
			t.Fatalf("%s outcome: %v", tc.kind, got)
		}
		if e := events[0]; e.Metadata.CausationID != tc.source.ID.String() || e.Tenant != testShop {
			t.Errorf("%s outcome metadata %+v tenant %q", tc.kind, e.Metadata, e.Tenant)
		}
		var viewID, status string
		if err := s.pool.QueryRow(s.ctx, `SELECT ses_message_id, status FROM emails_view WHERE source_event_id = $1 AND kind = $2`,
			tc.source.ID, tc.kind).Scan(&viewID, &status); err != nil || viewID != msgs[i].MessageID || status != "sent" {
			t.Fatalf("%s emails_view: id %q status %q (SES said %q): %v", tc.kind, viewID, status, msgs[i].MessageID, err)
		}
	}

	// Redelivered source events find their outcome and send nothing.
	for _, e := range []eventstore.Event{user, order} {
		if err := worker.Handler().Handle(context.Background(), e); err != nil {
			t.Fatalf("redelivery: %v", err)
		}
	}
	if n := len(sesMessages(t, sim)); n != 2 {
		t.Fatalf("redelivery sent again: %d messages", n)
	}
	if got := eventTypes(outcome(t, s, user, domain.EmailWelcome)); len(got) != 1 {
		t.Fatalf("redelivery recorded again: %v", got)
	}
}

func TestPermanentlyFailingEmailIsDeadLetteredAndRequeued(t *testing.T) {
	s := newStack(t)
	sim := startSimulator(t)
	const addr = "bounce@example.test"
	call(t, "POST", sim+"/_sim/faults", map[string]any{"ses": map[string]any{"fail_to": []string{addr}}}, nil)
	worker := workers.NewEmailWorker(s.store, workers.NewMailer(workers.MailerConfig{Endpoint: sim, From: "orders@ordermill.test"}), nil)
	s.runWorkers(t, worker.Handler())
	s.runProjectors(t, projections.NewEmails())

	user := registerUser(t, s, addr)
	dls := bus.NewDeadLetters(s.store, s.pub, s.prefix)
	var open []bus.DeadLetter
	waitFor(t, "the email's dead letter", func() bool {
		var err error
		open, err = dls.List(s.ctx, testShop, false, 0, 10)
		return err == nil && len(open) == 1
	})
	dl := open[0]
	if dl.Handler != workers.EmailHandlerName || dl.EventID != user.ID.String() || !strings.Contains(dl.Error, "MessageRejected") {
		t.Fatalf("dead letter %+v", dl)
	}
	if got := eventTypes(outcome(t, s, user, domain.EmailWelcome)); !slices.Equal(got, []string{"email.failed"}) {
		t.Fatalf("outcome after the retries: %v, want one email.failed", got)
	}
	waitFor(t, "emails_view to show the failure", func() bool {
		return s.count(t, `SELECT count(*) FROM emails_view WHERE status = 'failed' AND reason LIKE 'MessageRejected:%'`) == 1
	})
	if n := len(sesMessages(t, sim)); n != 0 {
		t.Fatalf("SES accepted %d messages for a suppressed address", n)
	}

	// The address is fixed; a person re-queues the dead letter.
	call(t, "POST", sim+"/_sim/faults", map[string]any{"ses": map[string]any{"fail_to": []string{}}}, nil)
	if _, err := dls.Requeue(s.ctx, testShop, dl.ID); err != nil {
		t.Fatalf("requeue: %v", err)
	}
	waitFor(t, "the re-queued email to be sent", func() bool {
		return s.count(t, `SELECT count(*) FROM emails_view WHERE status = 'sent'`) == 1
	})
	if got := eventTypes(outcome(t, s, user, domain.EmailWelcome)); !slices.Equal(got, []string{"email.failed", "email.sent"}) {
		t.Fatalf("outcome after requeue: %v", got)
	}
	if msgs := sesMessages(t, sim); len(msgs) != 1 || msgs[0].To[0] != addr {
		t.Fatalf("SES messages after requeue: %+v", msgs)
	}
	if open, err := dls.List(s.ctx, testShop, false, 0, 10); err != nil || len(open) != 0 {
		t.Fatalf("open dead letters after requeue: %+v %v", open, err)
	}
}

// TestMailerAgainstAwsSesV2Local sends through the third-party SES v2
// emulator (npm aws-ses-v2-local), so that our simulator is not the only
// judge of what the sesv2 client sends.
func TestMailerAgainstAwsSesV2Local(t *testing.T) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not installed")
	}
	dir, err := filepath.Abs("testdata/ses-local")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "aws-ses-v2-local")); err != nil {
		install := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		install.Dir = dir
		if out, err := install.CombinedOutput(); err != nil {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	emulator := exec.Command(filepath.Join(dir, "node_modules", ".bin", "aws-ses-v2-local"), "--host", "127.0.0.1", "--port", fmt.Sprint(port))
	emulator.Dir = dir
	if err := emulator.Start(); err != nil {
		t.Fatalf("start aws-ses-v2-local: %v", err)
	}
	t.Cleanup(func() {
		_ = emulator.Process.Signal(syscall.SIGTERM)
		_ = emulator.Wait()
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, "aws-ses-v2-local to answer", func() bool {
		resp, err := http.Get(base + "/health-check")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	mailer := workers.NewMailer(workers.MailerConfig{Endpoint: base, From: "orders@ordermill.test"})
	id, err := mailer.Send(t.Context(), workers.Mail{To: "ada@example.test", Subject: "Order #1001 confirmed", Text: "Thank you."})
	if err != nil || id == "" {
		t.Fatalf("send: %q %v", id, err)
	}
	var store struct {
		Emails []struct {
			MessageID   string `json:"messageId"`
			From        string `json:"from"`
			Subject     string `json:"subject"`
			Destination struct {
				To []string `json:"to"`
			} `json:"destination"`
			Body struct {
				Text string `json:"text"`
			} `json:"body"`
		} `json:"emails"`
	}
	if code := call(t, "GET", base+"/store", nil, &store); code != http.StatusOK || len(store.Emails) != 1 {
		t.Fatalf("emulator store: %d %+v", code, store)
	}
	got := store.Emails[0]
	if got.MessageID != id || got.From != "orders@ordermill.test" || !slices.Equal(got.Destination.To, []string{"ada@example.test"}) ||
		got.Subject != "Order #1001 confirmed" || got.Body.Text != "Thank you." {
		t.Fatalf("emulator received %+v (message id %q)", got, id)
	}
}
