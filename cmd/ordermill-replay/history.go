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

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// streamArg turns "order <uuid>" or "stream <stream id>" into a stream id.
func streamArg(kind, id string) (string, error) {
	switch kind {
	case "order":
		u, err := uuid.Parse(id)
		if err != nil {
			return "", fmt.Errorf("order id %q: %w", id, err)
		}
		return domain.OrderStream(u), nil
	case "stream":
		return id, nil
	}
	return "", fmt.Errorf("unknown kind %q (want order or stream)", kind)
}

func historyCmd(ctx context.Context, e *env, args []string) error {
	fs := e.flags("history", "history order <id> | history stream <stream id> [--json]",
		"Lists every event of an order (or any stream) in version order, with positions, hashes\n"+
			"and metadata. --json prints the stored events in full.")
	if err := parse(fs, args, 2); err != nil {
		return err
	}
	stream, err := streamArg(fs.Arg(0), fs.Arg(1))
	if err != nil {
		return err
	}
	store, err := e.store(ctx)
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

// orderAt is the JSON shape of an order's past state.
type orderAt struct {
	OrderID    uuid.UUID         `json:"order_id"`
	At         string            `json:"at"`
	Version    int64             `json:"version"`
	Position   string            `json:"position"`
	RecordedAt time.Time         `json:"recorded_at"`
	LastEvent  string            `json:"last_event"`
	State      domain.OrderState `json:"state"`
}

func stateCmd(ctx context.Context, e *env, args []string) error {
	fs := e.flags("state", "state order <id> [--at <RFC 3339 time | position token>] [--json]",
		"Replays an order's events up to a moment and prints its state then: time travel.\n"+
			"A time includes events recorded at or before it; a position token (as the API returns\n"+
			"them, e.g. 1042.17) includes events at or before it in commit order. Default: now.")
	at := fs.String("at", "", "the moment: an RFC 3339 time or a position token")
	if err := parse(fs, args, 2); err != nil {
		return err
	}
	if fs.Arg(0) != "order" {
		return fmt.Errorf("unknown kind %q (want order)", fs.Arg(0))
	}
	id, err := uuid.Parse(fs.Arg(1))
	if err != nil {
		return fmt.Errorf("order id %q: %w", fs.Arg(1), err)
	}
	m := eventstore.Moment{Time: time.Now().UTC()}
	if *at != "" {
		if m, err = eventstore.ParseMoment(*at); err != nil {
			return err
		}
	}
	store, err := e.store(ctx)
	if err != nil {
		return err
	}
	state, events, err := store.OrderAt(ctx, id, m)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return fmt.Errorf("order %s did not exist at %s", id, m)
	}
	if err != nil {
		return err
	}
	last := events[len(events)-1]
	out := orderAt{OrderID: id, At: m.String(), Version: last.StreamVersion, Position: last.Position.String(),
		RecordedAt: last.RecordedAt, LastEvent: last.Type, State: state}
	if e.json {
		return e.printJSON(out)
	}
	s := state
	fmt.Fprintf(e.stdout, "order %s (%s) at %s\n", s.ID, s.Name, out.At)
	fmt.Fprintf(e.stdout, "after version %d: %s at %s (position %s)\n\n", out.Version, out.LastEvent,
		out.RecordedAt.Format(time.RFC3339Nano), out.Position)
	if err := e.table("FIELD\tVALUE", [][]string{
		{"shop", s.Shop}, {"source", s.Source}, {"status", string(s.Status)},
		{"financial", string(s.FinancialStatus)}, {"fulfillment", string(s.FulfillmentStatus)},
		{"currency", s.Currency}, {"subtotal", strconv.FormatInt(s.Subtotal, 10)}, {"total", strconv.FormatInt(s.Total, 10)},
		{"paid", strconv.FormatInt(s.Paid, 10)}, {"refunded", strconv.FormatInt(s.Refunded, 10)},
		{"fulfillments", dash(strings.Join(s.Fulfillments, ", "))}, {"refunds", dash(strings.Join(s.Refunds, ", "))},
	}); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	rows := make([][]string, len(s.Lines))
	for i, l := range s.Lines {
		rows[i] = []string{l.ID, dash(l.SKU), l.Title, strconv.Itoa(l.Quantity), strconv.Itoa(l.FulfilledQuantity),
			strconv.Itoa(l.RefundedQuantity), strconv.FormatInt(l.UnitPrice, 10)}
	}
	return e.table("LINE\tSKU\tTITLE\tQTY\tFULFILLED\tREFUNDED\tUNIT_PRICE", rows)
}
