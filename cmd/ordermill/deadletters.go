package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/workers"
)

const deadLettersSynopsis = "deadletters requeue --shop DOMAIN [--handler H] [--event-type T] [--since TIME] [--until TIME] [--error TEXT] [--dry-run] [--json]"

// deadLettersCmd re-queues a shop's dead letters in bulk by filter; with
// --dry-run it lists what each would do and changes nothing.
func deadLettersCmd(args []string) error {
	if len(args) == 0 || args[0] != "requeue" {
		return errors.New("usage: ordermill " + deadLettersSynopsis)
	}
	fs := newFlagSet("deadletters requeue", deadLettersSynopsis)
	shop := fs.String("shop", "", "the shop's domain, e.g. demo.myshopify.com (required)")
	handler := fs.String("handler", "", "only this handler's dead letters (webhooks, email, inventory, reports)")
	eventType := fs.String("event-type", "", "only events of this type, e.g. order.placed")
	since := fs.String("since", "", "only those that failed at or after this RFC 3339 time")
	until := fs.String("until", "", "only those that failed before this RFC 3339 time")
	errText := fs.String("error", "", "only those whose last error contains this text (any case)")
	dryRun := fs.Bool("dry-run", false, "show what each would do; change nothing")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *shop == "" {
		return errors.New("--shop is required")
	}
	f := bus.DeadLetterFilter{Handler: *handler, EventType: *eventType, ErrorContains: *errText}
	for _, t := range []struct {
		flag, value string
		dst         *time.Time
	}{{"since", *since, &f.Since}, {"until", *until, &f.Until}} {
		if t.value == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.value)
		if err != nil {
			return fmt.Errorf("--%s must be an RFC 3339 time like 2024-05-01T00:00:00Z, got %q", t.flag, t.value)
		}
		*t.dst = v
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	ctx := context.Background()
	p, err := platform.Open(ctx, cfg, platform.NewLogger(cfg.LogLevel), false)
	if err != nil {
		return err
	}
	defer p.Close()
	dl, err := p.DeadLetters()
	if err != nil {
		return err
	}
	report, err := dl.RequeueMatching(ctx, *shop, f, *dryRun, workers.ExplainDeadLetter)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(report)
	} else {
		err = printBulkRequeue(os.Stdout, report)
	}
	if err != nil {
		return err
	}
	if report.Failed > 0 {
		return fmt.Errorf("%d of %d dead letters could not be re-queued", report.Failed, len(report.Items))
	}
	return nil
}

func printBulkRequeue(out io.Writer, r bus.BulkRequeue) error {
	switch {
	case r.Matched == 0:
		_, err := fmt.Fprintln(out, "No open dead letters match.")
		return err
	case r.DryRun:
		fmt.Fprintf(out, "Dry run: %d open dead letters match; nothing was changed.\n", r.Matched)
	default:
		fmt.Fprintf(out, "Re-queued %d, failed %d, of %d matching.\n", r.Requeued, r.Failed, r.Matched)
	}
	if int64(len(r.Items)) < r.Matched {
		fmt.Fprintf(out, "Only the oldest %d are handled per run; run again for the rest.\n", len(r.Items))
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tHANDLER\tEVENT\tSTREAM\tRESULT\tWHAT IT WOULD DO")
	for _, o := range r.Items {
		effect := o.Explanation.Effect
		if o.Error != "" {
			effect = o.Error
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", o.DeadLetter.ID, o.DeadLetter.Handler, o.DeadLetter.EventType,
			o.DeadLetter.StreamID, o.Result, effect)
	}
	return tw.Flush()
}
