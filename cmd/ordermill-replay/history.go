package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// streamArg turns "order <ref>" (see audit.Log.FindOrder) or "stream <stream id>"
// into a stream id.
func streamArg(ctx context.Context, store *eventstore.Store, kind, id, shop string) (string, error) {
	switch kind {
	case "order":
		u, err := audit.New(store).FindOrder(ctx, id, shop)
		if err != nil {
			return "", err
		}
		return domain.OrderStream(u), nil
	case "stream":
		return id, nil
	}
	return "", fmt.Errorf("unknown kind %q (want order or stream)", kind)
}

func historyCmd(ctx context.Context, e *env, args []string) error {
	fs := e.flags("history", "history order <id | Shopify id | name> [--shop domain] | history stream <stream id> [--json]",
		"Lists every event of an order (or any stream) in version order, with positions, hashes\n"+
			"and metadata. An order is named by its id, its Shopify id or its name (#1118); --shop picks\n"+
			"among shops that share the number. --json prints the stored events in full.")
	shop := fs.String("shop", "", "the order's shop, when its Shopify id or name exists in several")
	if err := parse(fs, args, 2); err != nil {
		return err
	}
	store, err := e.store(ctx)
	if err != nil {
		return err
	}
	stream, err := streamArg(ctx, store, fs.Arg(0), fs.Arg(1), *shop)
	if err != nil {
		return err
	}
	events, err := store.ReadStream(ctx, stream, 1)
	if err != nil {
		return err
	}
	if e.json {
		return e.printJSON(viewEvents(events))
	}
	fmt.Fprintf(e.stdout, "%s: %d events\n\n", stream, len(events))
	rows := make([][]string, len(events))
	for i, ev := range events {
		rows[i] = []string{strconv.FormatInt(ev.StreamVersion, 10), ev.Position.String(),
			ev.RecordedAt.Format(time.RFC3339Nano), ev.Type, dash(ev.Metadata.Actor), dash(ev.Metadata.Source),
			dash(ev.Metadata.CausationID), fmt.Sprintf("%x", ev.Hash[:8])}
	}
	return e.table("VERSION\tPOSITION\tRECORDED_AT\tTYPE\tACTOR\tSOURCE\tCAUSED_BY\tHASH", rows)
}

// eventView is an event as the tool prints it: hashes in hex and the
// position as the token the API uses.
type eventView struct {
	Position      string              `json:"position"`
	EventID       uuid.UUID           `json:"event_id"`
	StreamID      string              `json:"stream_id"`
	StreamVersion int64               `json:"stream_version"`
	Type          string              `json:"event_type"`
	SchemaVersion int                 `json:"schema_version"`
	Tenant        string              `json:"tenant_id"`
	RecordedAt    time.Time           `json:"recorded_at"`
	Data          json.RawMessage     `json:"data"`
	Metadata      eventstore.Metadata `json:"metadata"`
	PrevHash      string              `json:"prev_hash"`
	Hash          string              `json:"hash"`
}

func viewEvents(events []eventstore.Event) []eventView {
	out := make([]eventView, len(events))
	for i, ev := range events {
		out[i] = eventView{Position: ev.Position.String(), EventID: ev.ID, StreamID: ev.StreamID,
			StreamVersion: ev.StreamVersion, Type: ev.Type, SchemaVersion: ev.SchemaVersion, Tenant: ev.Tenant,
			RecordedAt: ev.RecordedAt, Data: ev.Data, Metadata: ev.Metadata,
			PrevHash: hex.EncodeToString(ev.PrevHash), Hash: hex.EncodeToString(ev.Hash)}
	}
	return out
}

// orderAt is the JSON shape of an order's past state. Money in State is in
// minor units; Money repeats it formatted in the order's currency.
type orderAt struct {
	OrderID uuid.UUID `json:"order_id"`
	At      string    `json:"at"`
	// Existed is false when the order was placed after At: then only
	// PlacedAt says when it came to be.
	Existed    bool               `json:"existed"`
	PlacedAt   *time.Time         `json:"first_recorded_at,omitempty"`
	Version    int64              `json:"version,omitempty"`
	Position   string             `json:"position,omitempty"`
	RecordedAt *time.Time         `json:"recorded_at,omitempty"`
	LastEvent  string             `json:"last_event,omitempty"`
	State      *domain.OrderState `json:"state,omitempty"`
	Money      map[string]string  `json:"money,omitempty"`
}

func stateCmd(ctx context.Context, e *env, args []string) error {
	fs := e.flags("state", "state order <id | Shopify id | name> [--at <RFC 3339 time | position token>] [--shop domain] [--json]",
		"Replays an order's events up to a moment and prints its state then: time travel.\n"+
			"A time includes events recorded at or before it; a position token (as the API returns\n"+
			"them, e.g. 1042.17) includes events at or before it in commit order. Default: now.\n"+
			"An order that did not exist yet at that moment is an answer too (exit 0).")
	at := fs.String("at", "", "the moment: an RFC 3339 time or a position token")
	shop := fs.String("shop", "", "the order's shop, when its Shopify id or name exists in several")
	if err := parse(fs, args, 2); err != nil {
		return err
	}
	if fs.Arg(0) != "order" {
		return fmt.Errorf("unknown kind %q (want order)", fs.Arg(0))
	}
	m := audit.Moment{Time: time.Now().UTC()}
	if *at != "" {
		var err error
		if m, err = audit.ParseMoment(*at); err != nil {
			return err
		}
	}
	store, err := e.store(ctx)
	if err != nil {
		return err
	}
	id, err := audit.New(store).FindOrder(ctx, fs.Arg(1), *shop)
	if err != nil {
		return err
	}
	all, err := store.ReadStream(ctx, domain.OrderStream(id), 1)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return fmt.Errorf("no order %s", id)
	}
	if err != nil {
		return err
	}
	out := orderAt{OrderID: id, At: m.String()}
	state, events, err := audit.New(store).OrderAt(ctx, id, m)
	switch {
	case errors.Is(err, eventstore.ErrStreamNotFound):
		first := all[0].RecordedAt
		out.PlacedAt = &first
		if e.json {
			return e.printJSON(out)
		}
		fmt.Fprintf(e.stdout, "order %s did not exist yet at %s: its first event was recorded at %s (position %s)\n",
			id, out.At, first.Format(time.RFC3339Nano), all[0].Position)
		return nil
	case err != nil:
		return err
	}
	last := events[len(events)-1]
	out.Existed, out.Version, out.Position, out.RecordedAt, out.LastEvent, out.State =
		true, last.StreamVersion, last.Position.String(), &last.RecordedAt, last.Type, &state
	s := state
	out.Money = map[string]string{"subtotal": money(s.Subtotal, s.Currency), "total": money(s.Total, s.Currency),
		"paid": money(s.Paid, s.Currency), "refunded": money(s.Refunded, s.Currency)}
	if e.json {
		return e.printJSON(out)
	}
	fmt.Fprintf(e.stdout, "order %s (%s) at %s\n", s.ID, s.Name, out.At)
	fmt.Fprintf(e.stdout, "after version %d: %s at %s (position %s)\n\n", out.Version, out.LastEvent,
		last.RecordedAt.Format(time.RFC3339Nano), out.Position)
	if err := e.table("FIELD\tVALUE", [][]string{
		{"shop", s.Shop}, {"source", s.Source}, {"status", string(s.Status)},
		{"financial", string(s.FinancialStatus)}, {"fulfillment", string(s.FulfillmentStatus)},
		{"currency", s.Currency}, {"subtotal", out.Money["subtotal"]}, {"total", out.Money["total"]},
		{"paid", out.Money["paid"]}, {"refunded", out.Money["refunded"]},
		{"fulfillments", dash(strings.Join(s.Fulfillments, ", "))}, {"refunds", dash(strings.Join(s.Refunds, ", "))},
	}); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	rows := make([][]string, len(s.Lines))
	for i, l := range s.Lines {
		rows[i] = []string{l.ID, dash(l.SKU), l.Title, strconv.Itoa(l.Quantity), strconv.Itoa(l.FulfilledQuantity),
			strconv.Itoa(l.RefundedQuantity), money(l.UnitPrice, s.Currency)}
	}
	return e.table("LINE\tSKU\tTITLE\tQTY\tFULFILLED\tREFUNDED\tUNIT_PRICE", rows)
}
