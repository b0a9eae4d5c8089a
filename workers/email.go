package workers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// ErrEmailRejected is matched by every *EmailRejectedError.
var ErrEmailRejected = errors.New("email rejected")

// EmailRejectedError is an SES refusal that sending again cannot fix (a
// suppressed or invalid address, an unverified sender, a paused account).
type EmailRejectedError struct {
	Code, Message string
}

func (e *EmailRejectedError) Error() string {
	return ErrEmailRejected.Error() + ": " + e.Reason()
}

func (e *EmailRejectedError) Unwrap() error { return ErrEmailRejected }

// Reason is SES's error code and message, as recorded on email.failed.
func (e *EmailRejectedError) Reason() string { return e.Code + ": " + e.Message }

// permanentSESErrors are the SES v2 error codes wrapped as ErrEmailRejected;
// anything else (throttling, quotas, 5xx, the network) is worth a retry.
var permanentSESErrors = []string{
	"MessageRejected", "MailFromDomainNotVerifiedException", "AccountSuspendedException",
	"SendingPausedException", "BadRequestException", "NotFoundException",
}

// MailerConfig configures a Mailer.
type MailerConfig struct {
	// Endpoint replaces the AWS endpoint (the simulator or an emulator).
	Endpoint string
	From     string
	// Region defaults to AWS_REGION, then us-east-1.
	Region string
	// Credentials default to AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
	// AWS_SESSION_TOKEN, then to dummy keys a local endpoint accepts.
	Credentials aws.CredentialsProvider
	// Timeout bounds each SendEmail (default 10s).
	Timeout time.Duration
}

// Mailer sends email through the SES v2 API.
type Mailer struct {
	client  *sesv2.Client
	from    string
	timeout time.Duration
}

// NewMailer builds the SES v2 client.
func NewMailer(cfg MailerConfig) *Mailer {
	if cfg.Region == "" {
		cfg.Region = cmp.Or(os.Getenv("AWS_REGION"), "us-east-1")
	}
	if cfg.Credentials == nil {
		key, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		if key == "" || secret == "" {
			key, secret = "ordermill-local", "ordermill-local"
		}
		cfg.Credentials = credentials.NewStaticCredentialsProvider(key, secret, os.Getenv("AWS_SESSION_TOKEN"))
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	opts := sesv2.Options{
		Region:      cfg.Region,
		Credentials: cfg.Credentials,
		// The router owns retries and dead-lettering; SDK retries underneath
		// would multiply the attempts and hide failures from it.
		RetryMaxAttempts: 1,
	}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(cfg.Endpoint)
	}
	return &Mailer{client: sesv2.New(opts), from: cfg.From, timeout: cfg.Timeout}
}

// Mail is one plain-text email.
type Mail struct {
	To, Subject, Text string
}

// Send hands the email to SES and returns SES's message id.
func (m *Mailer) Send(ctx context.Context, mail Mail) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	start := time.Now()
	out, err := m.client.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.from),
		Destination:      &types.Destination{ToAddresses: []string{mail.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(mail.Subject), Charset: aws.String("UTF-8")},
			Body:    &types.Body{Text: &types.Content{Data: aws.String(mail.Text), Charset: aws.String("UTF-8")}},
		}},
	})
	observeSES(start, err)
	var apiErr smithy.APIError
	switch {
	case errors.As(err, &apiErr) && slices.Contains(permanentSESErrors, apiErr.ErrorCode()):
		return "", &EmailRejectedError{Code: apiErr.ErrorCode(), Message: apiErr.ErrorMessage()}
	case err != nil:
		return "", fmt.Errorf("ses send email: %w", err)
	case out.MessageId == nil || *out.MessageId == "":
		return "", errors.New("ses send email: answer without a message id")
	}
	return *out.MessageId, nil
}

// EmailHandlerName is the email worker's handler (and consumer group) name.
const EmailHandlerName = "email"

// EmailWorker sends the welcome email on user.registered and the order
// confirmation on order.placed where domain.OrderConfirmation says so, and
// records the outcome on the email's own stream (domain.EmailStream).
//
// Delivery is at least once, not exactly once: the outcome stream is read
// before sending, so a redelivered event whose email is recorded as sent
// sends nothing, but a crash between SES accepting the email and the
// email.sent append sends it again on redelivery. The outcome itself is
// recorded once (deterministic event ids, and the domain refuses a second
// email.sent).
//
// A permanent refusal (ErrEmailRejected) is recorded as email.failed once
// and returned as an error: the router retries it, then dead-letters it;
// re-queueing the dead letter tries again and records email.sent if SES now
// accepts it.
type EmailWorker struct {
	store  *eventstore.Store
	mailer *Mailer
	now    func() time.Time
	log    *slog.Logger
}

// NewEmailWorker returns the email worker.
func NewEmailWorker(store *eventstore.Store, mailer *Mailer, log *slog.Logger) *EmailWorker {
	if log == nil {
		log = slog.Default()
	}
	return &EmailWorker{store: store, mailer: mailer, now: time.Now, log: log}
}

// Handler returns the worker for the router.
func (w *EmailWorker) Handler() Handler {
	return Handler{Name: EmailHandlerName, Categories: []string{"user", "order"}, Handle: w.handle}
}

// outcomeID names an email's outcome event after its stream and type, so the
// database itself refuses a second email.sent or email.failed for one email.
func outcomeID(stream, eventType string) uuid.UUID {
	return uuid.NewSHA1(app.OutcomeNamespace, []byte(stream+"/"+eventType))
}

func (w *EmailWorker) handle(ctx context.Context, e eventstore.Event) error {
	opened := []eventstore.Event{e} // the relay publishes personal fields sealed
	if err := w.store.Open(ctx, opened); err != nil {
		return err
	}
	e = opened[0]
	mail, kind, ok, err := composeEmail(e)
	if err != nil || !ok {
		return err
	}
	if kind == domain.EmailOrderConfirmation {
		send, why, err := w.confirmationWanted(ctx, e)
		if err != nil || !send {
			if err == nil {
				w.log.InfoContext(ctx, "no order confirmation", "stream", e.StreamID, "why", why)
			}
			return err
		}
	}
	stream := domain.EmailStream(e.ID, kind)
	history, err := w.store.ReadStream(ctx, stream, 1)
	if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
		return err
	}
	current, err := emailFromHistory(history)
	if err != nil {
		return err
	}
	if current.Sent() {
		return nil
	}
	msgID, sendErr := w.mailer.Send(ctx, mail)
	var rejected *EmailRejectedError
	switch {
	case errors.As(sendErr, &rejected):
		err := w.record(ctx, e, stream, func(m *domain.Email) ([]domain.Event, error) {
			return m.RecordFailed(domain.EmailFailed{
				To: mail.To, Subject: mail.Subject, Kind: kind, Reason: rejected.Reason(),
				SourceEventID: e.ID, FailedAt: w.now(),
			})
		})
		return errors.Join(sendErr, err)
	case sendErr != nil:
		return sendErr
	}
	w.log.InfoContext(ctx, "email sent", "kind", kind, "stream", stream, "ses_message_id", msgID, "source_event_id", e.ID)
	return w.record(ctx, e, stream, func(m *domain.Email) ([]domain.Event, error) {
		return m.RecordSent(domain.EmailSent{
			To: mail.To, Subject: mail.Subject, Kind: kind, SESMessageID: msgID, SourceEventID: e.ID, SentAt: w.now(),
		})
	})
}

// confirmationWanted applies the domain's confirmation rules to the
// order.placed event placed: it reads the shop, and what else the
// transaction that placed the order appended (a first snapshot already
// cancelled places and cancels at once).
func (w *EmailWorker) confirmationWanted(ctx context.Context, placed eventstore.Event) (bool, string, error) {
	stored, err := w.store.ReadStream(ctx, placed.StreamID, 1)
	if err != nil {
		return false, "", err
	}
	// The order as the change that placed it left it: what it arrived as.
	arrived := slices.DeleteFunc(stored, func(e eventstore.Event) bool {
		return e.Position.TransactionID != stored[0].Position.TransactionID
	})
	events, err := eventstore.Decode(arrived)
	if err != nil {
		return false, "", err
	}
	order, err := domain.NewOrderFromHistory(events)
	if err != nil {
		return false, "", err
	}
	state := order.Snapshot()
	c := domain.OrderConfirmation{Source: state.Source, Test: state.Test, ArrivedCancelled: !state.CancelledAt.IsZero()}
	shopHistory, err := w.store.ReadStream(ctx, domain.ShopStream(placed.Tenant), 1)
	switch {
	case errors.Is(err, eventstore.ErrStreamNotFound):
	case err != nil:
		return false, "", err
	default:
		events, err := eventstore.Decode(shopHistory)
		if err != nil {
			return false, "", err
		}
		if c.Shop, err = domain.NewShopFromHistory(events); err != nil {
			return false, "", err
		}
	}
	send, why := c.Send()
	return send, why, nil
}

func emailFromHistory(history []eventstore.Event) (*domain.Email, error) {
	events, err := eventstore.Decode(history)
	if err != nil {
		return nil, err
	}
	return domain.NewEmailFromHistory(events)
}

// record appends what decide returns on top of the latest outcome.
func (w *EmailWorker) record(ctx context.Context, source eventstore.Event, stream string,
	decide func(*domain.Email) ([]domain.Event, error)) error {
	_, err := app.Update(ctx, w.store, stream, domain.NewEmailFromHistory, decide,
		app.By(source.Tenant, app.OutcomeMetadata(EmailHandlerName, source)),
		app.EventIDs(func(stream string, events []eventstore.NewEvent) []eventstore.NewEvent {
			for i := range events {
				events[i].ID = outcomeID(stream, events[i].Type)
			}
			return events
		}))
	if errors.Is(err, eventstore.ErrDuplicateEvent) {
		return nil // a concurrent delivery recorded the same outcome
	}
	return err
}

// composeEmail returns the email an event asks for; ok is false for events
// that send none (other types, orders without an email address).
func composeEmail(e eventstore.Event) (mail Mail, kind domain.EmailKind, ok bool, err error) {
	switch e.Type {
	case "user.registered", "order.placed":
	default:
		return Mail{}, "", false, nil
	}
	d, err := eventstore.DecodeEvent(e.Type, e.Data)
	if err != nil {
		return Mail{}, "", false, err
	}
	switch d := d.(type) {
	case domain.UserRegistered:
		return Mail{
			To:      d.Email,
			Subject: "Welcome to Ordermill, " + d.Name,
			Text: fmt.Sprintf("Hello %s,\n\nyour %s account for %s is ready. Sign in with %s.\n\nOrdermill\n",
				d.Name, d.Role, d.Shop, d.Email),
		}, domain.EmailWelcome, true, nil
	case domain.OrderPlaced:
		if !domain.ValidEmail(d.Email) {
			return Mail{}, "", false, nil
		}
		return Mail{To: d.Email, Subject: "Order " + d.Name + " confirmed", Text: orderConfirmation(d)},
			domain.EmailOrderConfirmation, true, nil
	}
	return Mail{}, "", false, nil
}

func orderConfirmation(o domain.OrderPlaced) string {
	var b strings.Builder
	greeting := "Hello"
	if o.CustomerName != "" {
		greeting += " " + o.CustomerName
	}
	fmt.Fprintf(&b, "%s,\n\nthank you for your order %s.\n\n", greeting, o.Name)
	for _, l := range o.Lines {
		price := domain.Money{Amount: l.UnitPrice * int64(l.Quantity), Currency: o.Currency}
		fmt.Fprintf(&b, "%s × %s  %s\n", strconv.Itoa(l.Quantity), l.Title, price)
	}
	fmt.Fprintf(&b, "\nTotal: %s\n\n%s\n", domain.Money{Amount: o.Total, Currency: o.Currency}, o.Shop)
	return b.String()
}
