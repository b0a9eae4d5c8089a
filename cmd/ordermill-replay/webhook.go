package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/secrets"
	"github.com/ordermill/ordermill/internal/shops"
)

func webhookCmd(ctx context.Context, e *env, args []string) error {
	fs := e.flags("webhook", "webhook <shop> <webhook id> | webhook <id> [--secret S | --secret-file F] [--json]",
		"Traces one stored webhook delivery: its raw payload and headers, when it arrived, how it was\n"+
			"processed, every event it caused (following causation ids, transitively) and each order's\n"+
			"state before and after. A delivery is named by its shop and Shopify webhook id\n"+
			"(X-Shopify-Webhook-Id), or by the id the app's webhook log shows.\n"+
			"Given the shop's webhook secret, the HMAC is recomputed over the stored raw body; a mismatch\n"+
			"exits 1. The secret is never read from the database: the auditor supplies it.")
	secret := fs.String("secret", "", "the shop's webhook secret")
	secretFile := fs.String("secret-file", "", "file holding the shop's webhook secret (keeps it out of the process list)")
	if err := fs.Parse(interleave(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 && fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("want <shop> <webhook id>, or the log's <id>; got %d arguments", fs.NArg())
	}
	var key []byte
	switch {
	case *secretFile != "":
		raw, err := os.ReadFile(*secretFile)
		if err != nil {
			return err
		}
		key = []byte(strings.TrimRight(string(raw), "\r\n"))
	case *secret != "":
		key = []byte(*secret)
	}
	store, err := e.store(ctx)
	if err != nil {
		return err
	}
	shop, webhookID := fs.Arg(0), fs.Arg(1)
	if fs.NArg() == 1 {
		if shop, webhookID, err = webhookByLogID(ctx, store, fs.Arg(0)); err != nil {
			return err
		}
	}
	t, err := audit.New(store).TraceWebhook(ctx, shop, webhookID, key)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return fmt.Errorf("no stored webhook %s for %s", webhookID, shop)
	}
	if err != nil {
		return err
	}
	if e.json {
		err = e.printJSON(t)
	} else {
		err = printTrace(ctx, e, store, t)
	}
	if err != nil {
		return err
	}
	if t.Signature != nil && !t.Signature.Valid && !t.Signature.BodyErased {
		return errFindings
	}
	return nil
}

// webhookByLogID finds the delivery whose webhook.received event has the id
// the webhook log shows.
func webhookByLogID(ctx context.Context, store *eventstore.Store, id string) (shop, webhookID string, err error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", "", fmt.Errorf("%q is neither the log's id of a webhook (a UUID) nor a shop and webhook id", id)
	}
	stream, err := audit.New(store).StreamOf(ctx, u, domain.WebhookReceived{}.EventType())
	if errors.Is(err, audit.ErrNoEvent) {
		return "", "", fmt.Errorf("no stored webhook has the id %s", id)
	}
	if err != nil {
		return "", "", err
	}
	shop, webhookID, ok := strings.Cut(strings.TrimPrefix(stream, "webhook-"), ":")
	if !ok {
		return "", "", fmt.Errorf("webhook stream %q is not webhook-<shop>:<id>", stream)
	}
	return shop, webhookID, nil
}

func printTrace(ctx context.Context, e *env, store *eventstore.Store, t audit.WebhookTrace) error {
	w := t.Webhook
	fmt.Fprintf(e.stdout, "webhook %s of %s (%s)\n", w.WebhookID, w.Shop, t.Stream)
	fmt.Fprintf(e.stdout, "topic %s, Shopify event %s, API %s, triggered %s\n", w.Topic, w.EventID, w.APIVersion, w.TriggeredAt)
	fmt.Fprintf(e.stdout, "arrived %s, stored %s at position %s\n", w.ReceivedAt.Format(time.RFC3339Nano),
		t.Received.RecordedAt.Format(time.RFC3339Nano), t.Received.Position)
	switch s := t.Signature; {
	case s == nil:
		fmt.Fprintln(e.stdout, "signature: not checked (pass --secret to recompute the HMAC)")
	case s.BodyErased:
		fmt.Fprintln(e.stdout, "signature: not checked, body erased (its data key was destroyed by a redaction)")
	case s.Valid:
		fmt.Fprintf(e.stdout, "signature: VALID, %s matches the HMAC of the stored body\n", domain.HeaderShopifyHMAC)
	default:
		fmt.Fprintf(e.stdout, "signature: INVALID, header %q, HMAC of the stored body %q\n", s.Header, s.Computed)
	}
	fmt.Fprintln(e.stdout, "\nheaders:")
	// The signature is stored apart from the other headers (and sealed); the
	// auditor's tool, which reads the database, shows it among them.
	headers := maps.Clone(w.Headers)
	if w.HMAC != "" {
		headers[domain.HeaderShopifyHMAC] = w.HMAC
	}
	for _, n := range slices.Sorted(maps.Keys(headers)) {
		fmt.Fprintf(e.stdout, "  %s: %s\n", n, headers[n])
	}
	fmt.Fprintf(e.stdout, "\nbody (%d bytes, exactly as received):\n%s\n\n", len(w.Body), w.Body)
	var duplicates []string
	for _, o := range t.Outcomes {
		if o.Type == (domain.WebhookDuplicateReceived{}).EventType() {
			duplicates = append(duplicates, o.RecordedAt.Format(time.RFC3339))
		}
	}
	if len(duplicates) == 0 {
		fmt.Fprintln(e.stdout, "duplicate deliveries: none")
	} else {
		fmt.Fprintf(e.stdout, "duplicate deliveries: %d, at %s\n", len(duplicates), strings.Join(duplicates, ", "))
	}
	fmt.Fprintln(e.stdout, "\noutcome:")
	if len(t.Outcomes) == len(duplicates) {
		fmt.Fprintln(e.stdout, "  not processed yet")
	}
	for _, o := range t.Outcomes {
		line, err := outcomeLine(ctx, store, o)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "  %s at %s (position %s): %s\n", o.Type, o.RecordedAt.Format(time.RFC3339Nano), o.Position, line)
	}
	fmt.Fprintln(e.stdout, "\nevents it caused:")
	rows := make([][]string, 0, len(t.Caused))
	for _, ev := range t.Caused {
		rows = append(rows, []string{ev.Position.String(), ev.StreamID, strconv.FormatInt(ev.StreamVersion, 10), ev.Type,
			ev.Metadata.CausationID, ev.RecordedAt.Format(time.RFC3339Nano)})
	}
	if err := e.table("POSITION\tSTREAM\tVERSION\tTYPE\tCAUSED_BY\tRECORDED_AT", rows); err != nil {
		return err
	}
	for _, o := range t.Orders {
		fmt.Fprintf(e.stdout, "\norder %s, versions %v:\n", o.OrderID, o.Versions)
		after := orderFields(o.After)
		rows := make([][]string, len(after))
		for i, f := range after {
			before := "(no order yet)"
			if o.Before != nil {
				before = orderFields(*o.Before)[i][1]
			}
			rows[i] = []string{f[0], before, f[1]}
		}
		if err := e.table("FIELD\tBEFORE\tAFTER", rows); err != nil {
			return err
		}
	}
	return nil
}

// outcomeLine says in full what processing made of the delivery. For a
// snapshot that changed nothing it names the newer snapshot the order
// already held, and the delivery that brought it.
func outcomeLine(ctx context.Context, store *eventstore.Store, o eventstore.Event) (string, error) {
	var (
		p   domain.WebhookProcessed
		f   domain.WebhookFailed
		dup domain.WebhookDuplicateReceived
	)
	switch o.Type {
	case dup.EventType():
		if err := json.Unmarshal(o.Data, &dup); err != nil {
			return "", err
		}
		line := "another delivery of the same webhook, answered 200 and not processed again"
		if dup.TriggeredAt != "" {
			line += " (Shopify triggered it at " + dup.TriggeredAt + ")"
		}
		return line, nil
	case p.EventType():
		if err := json.Unmarshal(o.Data, &p); err != nil {
			return "", err
		}
	case f.EventType():
		if err := json.Unmarshal(o.Data, &f); err != nil {
			return "", err
		}
		return "failed: " + f.Reason, nil
	default:
		return string(o.Data), nil
	}
	line := p.Result
	if p.Detail != "" {
		line += " — " + p.Detail
	}
	if p.Events > 0 {
		line += fmt.Sprintf(" (%d events)", p.Events)
	}
	id, err := uuid.Parse(p.OrderID)
	if p.Result != "unchanged" || err != nil {
		return line, nil
	}
	events, err := audit.New(store).ReadStreamAt(ctx, domain.OrderStream(id), audit.Moment{Position: o.Position, ByPosition: true})
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return line, nil
	}
	if err != nil {
		return "", err
	}
	// The event that set the snapshot time the order held then won.
	var (
		held   time.Time
		source string
	)
	for n := range events {
		s, err := audit.OrderState(events[:n+1])
		if err != nil {
			return "", err
		}
		if !s.ShopifyUpdatedAt.Equal(held) {
			held, source = s.ShopifyUpdatedAt, events[n].Metadata.CausationID
		}
	}
	if held.IsZero() {
		return line, nil
	}
	line += fmt.Sprintf("; the order already held Shopify's snapshot of %s", held.Format(time.RFC3339))
	if cause, err := uuid.Parse(source); err == nil {
		if stream, err := audit.New(store).StreamOf(ctx, cause, ""); err == nil {
			if shop, webhookID, ok := strings.Cut(strings.TrimPrefix(stream, "webhook-"), ":"); ok && strings.HasPrefix(stream, "webhook-") {
				line += fmt.Sprintf(", from webhook %s of %s", webhookID, shop)
			}
		}
	}
	return line, nil
}

func orderFields(s domain.OrderState) [][]string {
	return [][]string{{"status", string(s.Status)}, {"financial", string(s.FinancialStatus)},
		{"fulfillment", string(s.FulfillmentStatus)}, {"total", money(s.Total, s.Currency)},
		{"paid", money(s.Paid, s.Currency)}, {"refunded", money(s.Refunded, s.Currency)},
		{"version", strconv.Itoa(s.Version)}}
}

// redeliverResult is the JSON shape of a redelivery or dry run.
type redeliverResult struct {
	DryRun  bool                      `json:"dry_run"`
	Outcome app.WebhookOutcome        `json:"outcome"`
	Appends []eventstore.StreamAppend `json:"appends,omitempty"` // dry run: what would be appended
}

func redeliverCmd(ctx context.Context, e *env, args []string) error {
	fs := e.flags("redeliver", "redeliver <shop> <webhook id> [--dry-run] [--json]",
		"Runs processing of a stored webhook again, from its stored raw payload, with today's code.\n"+
			"A webhook already processed is left alone. --dry-run writes nothing and shows the events\n"+
			"processing would append now, even for a processed webhook (useful after a fix).")
	dry := fs.Bool("dry-run", false, "show what would be appended, write nothing")
	if err := parse(fs, args, 2); err != nil {
		return err
	}
	store, err := e.store(ctx)
	if err != nil {
		return err
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	key, err := secrets.LoadKey(cfg.MasterKey, cfg.DataDir)
	if err != nil {
		return err
	}
	// Processing only logs what it cannot record as an outcome.
	proc := app.NewWebhooks(store, shops.NewRegistry(store.Pool(), key), slog.New(slog.NewTextHandler(e.stderr, nil)))
	stream := domain.WebhookStream(fs.Arg(0), fs.Arg(1))
	res := redeliverResult{DryRun: *dry}
	if *dry {
		res.Outcome, res.Appends, err = proc.DryRun(ctx, stream)
	} else {
		res.Outcome, err = proc.Redeliver(ctx, stream)
	}
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return fmt.Errorf("no stored webhook %s for %s", fs.Arg(1), fs.Arg(0))
	}
	if err != nil {
		return err
	}
	if e.json {
		return e.printJSON(res)
	}
	o := res.Outcome
	switch {
	case o.AlreadyDone:
		fmt.Fprintf(e.stdout, "already %s earlier (%s): nothing done\n", o.Status, strings.TrimSpace(o.Result+" "+o.Detail))
	case *dry:
		fmt.Fprintf(e.stdout, "dry run: would be %s (%s); nothing written\n", o.Status, strings.TrimSpace(o.Result+" "+o.Detail))
	default:
		fmt.Fprintf(e.stdout, "%s (%s)\n", o.Status, strings.TrimSpace(o.Result+" "+o.Detail))
	}
	if !*dry {
		return nil
	}
	var rows [][]string
	for _, a := range res.Appends {
		for _, ev := range a.Events {
			rows = append(rows, []string{a.Stream, a.Expected.String(), ev.Type, string(ev.Data)})
		}
	}
	return e.table("STREAM\tAT\tTYPE\tDATA", rows)
}
