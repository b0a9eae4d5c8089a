package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/shopify"
)

// WebhooksHandler names the webhook processor's consumer group and outcomes.
const WebhooksHandler = "webhooks"

// Webhooks turns captured Shopify webhooks into domain commands. Its outcome
// for each webhook is one event on the webhook's own stream, appended at
// version 2 (right after webhook.received) in the same transaction as the
// events the webhook caused: a redelivered webhook finds the outcome there
// and changes nothing.
type Webhooks struct {
	store *eventstore.Store
	shops *shops.Registry
	log   *slog.Logger
}

// NewWebhooks returns the webhook processor.
func NewWebhooks(store *eventstore.Store, registry *shops.Registry, log *slog.Logger) *Webhooks {
	if log == nil {
		log = slog.Default()
	}
	return &Webhooks{store: store, shops: registry, log: log}
}

// Redeliver runs processing again from the stored webhook.received event of
// stream. A processed webhook is left alone; a failed one is processed again
// (say, after a fix) and its new outcome appended.
func (w *Webhooks) Redeliver(ctx context.Context, stream string) (WebhookOutcome, error) {
	events, err := w.store.ReadStream(ctx, stream, 1)
	if err != nil {
		return WebhookOutcome{}, err
	}
	if last, ok := lastOutcome(events); ok && last.Type == (domain.WebhookProcessed{}).EventType() {
		return outcomeOf(last), nil
	}
	return w.process(ctx, events[0], eventstore.Exact(int64(len(events))))
}

// lastOutcome is the newest processed or failed outcome among a webhook's
// stream events; duplicate deliveries recorded between them are no outcome.
func lastOutcome(events []eventstore.Event) (eventstore.Event, bool) {
	for i := len(events) - 1; i >= 0; i-- {
		switch events[i].Type {
		case domain.WebhookProcessed{}.EventType(), domain.WebhookFailed{}.EventType():
			return events[i], true
		}
	}
	return eventstore.Event{}, false
}

// outcomeOf describes an outcome recorded by an earlier run.
func outcomeOf(e eventstore.Event) WebhookOutcome {
	d, _ := eventstore.DecodeEvent(e.Type, e.Data)
	o := describe(d)
	o.AlreadyDone = true
	return o
}

func describe(e domain.Event) WebhookOutcome {
	var o WebhookOutcome
	switch d := e.(type) {
	case domain.WebhookProcessed:
		o.Status, o.Result, o.Detail = WebhookStatusProcessed, d.Result, d.Detail
	case domain.WebhookFailed:
		o.Status, o.Detail = WebhookStatusFailed, d.Reason
	}
	return o
}

// ProcessBatch is the processor as the webhook category's worker runs it:
// it takes webhooks in batches and commits a batch's events and outcomes in
// one transaction, since at hundreds of webhooks a second a transaction per
// webhook left it seconds behind (make bench, scenario 2). It processes
// webhook.received events (the processor's own
// outcomes come back on the same category and are skipped) with one plan and
// one commit. If the commit fails, say because another writer changed an
// order the batch read, each webhook is processed alone, so that one
// webhook's trouble stays its own. It returns an error per event.
func (w *Webhooks) ProcessBatch(ctx context.Context, events []eventstore.Event) []error {
	errs := make([]error, len(events))
	var received []eventstore.Event
	var at []int
	for i, e := range events {
		if e.Type == (domain.WebhookReceived{}).EventType() {
			received = append(received, e)
			at = append(at, i)
		}
	}
	if len(received) == 0 {
		return errs
	}
	if len(received) > 1 {
		received = slices.Clone(received) // opened in place
		b := NewBatch(w.store)
		// Every webhook is decided even after one fails: the prefetch needs
		// the streams of all.
		decideAll := func() (first error) {
			for _, e := range received {
				if _, err := w.decide(ctx, b, e, eventstore.Exact(e.StreamVersion)); err != nil && first == nil {
					first = err
				}
			}
			return first
		}
		if w.store.Open(ctx, received) == nil && b.Prefetch(ctx, decideAll) == nil &&
			decideAll() == nil && b.Commit(ctx) == nil {
			return errs
		}
	}
	for j, e := range received {
		_, errs[at[j]] = w.process(ctx, e, eventstore.Exact(e.StreamVersion))
	}
	return errs
}

// process processes one webhook and appends its outcome to the webhook's
// stream at version at, with what it caused, in one transaction. Errors a
// retry could fix (the database) are returned; a webhook that can never apply
// (a malformed body, a command the domain refuses) is recorded as failed
// instead, so it never blocks the stream.
func (w *Webhooks) process(ctx context.Context, src eventstore.Event, at eventstore.ExpectedVersion) (outcome WebhookOutcome, _ error) {
	opened := []eventstore.Event{src} // the relay publishes the body sealed
	if err := w.store.Open(ctx, opened); err != nil {
		return WebhookOutcome{}, err
	}
	var result domain.Event
	err := RunBatch(ctx, w.store, func(b *Batch, attempt int) error {
		if attempt > 1 {
			// Another run of this webhook may have got there first, or a
			// duplicate delivery been recorded meanwhile: then decide after it.
			done, err := w.store.ReadStream(ctx, src.StreamID, int64(at)+1)
			if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
				return err
			}
			if last, ok := lastOutcome(done); ok {
				result = nil
				outcome = outcomeOf(last)
				return nil
			}
			if len(done) > 0 {
				at = eventstore.Exact(done[len(done)-1].StreamVersion)
			}
		}
		var err error
		result, err = w.decide(ctx, b, opened[0], at)
		return err
	})
	if err != nil || result == nil {
		return outcome, err
	}
	return describe(result), nil
}

// decide adds to p what processing the opened webhook src appends, its
// outcome at version at of the webhook's stream last, and returns that
// outcome. Only errors a retry could fix are returned.
func (w *Webhooks) decide(ctx context.Context, p *Batch, src eventstore.Event, at eventstore.ExpectedVersion) (domain.Event, error) {
	var wh domain.WebhookReceived
	if err := json.Unmarshal(src.Data, &wh); err != nil {
		// Not a webhook this code wrote: nothing to record an outcome for.
		w.log.ErrorContext(ctx, "undecodable webhook.received event", "stream", src.StreamID, "err", err)
		return nil, nil
	}
	mark := p.Mark()
	outcome, extra, err := w.apply(ctx, p, src, wh)
	var result domain.Event = outcome
	if err != nil {
		if !domain.IsRejection(err) {
			return nil, err
		}
		p.Rewind(mark)
		failed := domain.WebhookFailed{Reason: err.Error()}
		if id, ok := shopify.OrderIDOf(strings.ToLower(wh.Topic), wh.Body); ok {
			failed.OrderID = domain.ShopifyOrderID(wh.Shop, id).String()
		}
		result, extra = failed, nil
	}
	// The outcome appends at the webhook's version, so that a concurrent run's is refused.
	if _, err := Append(ctx, nil, src.StreamID, append(extra, result), Into(p), Expect(at),
		By(wh.Shop, OutcomeMetadata(WebhooksHandler, src))); err != nil {
		return nil, err
	}
	return result, nil
}

// apply runs the webhook's domain commands. It returns the processed outcome
// and any events recorded next to it on the webhook's stream. The body is
// first checked against its topic and the signing shop: Shopify signs the
// body only, so a genuine body re-posted under another topic must change
// nothing.
func (w *Webhooks) apply(ctx context.Context, p *Batch, src eventstore.Event, wh domain.WebhookReceived) (domain.WebhookProcessed, []domain.Event, error) {
	if string(wh.Body) == eventstore.Erased {
		return domain.WebhookProcessed{Result: "ignored", Detail: "body erased"}, nil, nil
	}
	// Every topic, also those whose bodies are decoded here with
	// encoding/json, which would read a lone surrogate as U+FFFD and the
	// last of two equal keys.
	if err := shopify.CheckBody(wh.Body); err != nil {
		return domain.WebhookProcessed{}, nil, err
	}
	topic := strings.ToLower(wh.Topic)
	signer := shopify.Signer{Domain: wh.Shop}
	if shopify.TopicNamesShop(topic) {
		var err error
		if signer, err = w.shops.Signer(ctx, wh.Shop); err != nil {
			return domain.WebhookProcessed{}, nil, err
		}
	}
	body, err := shopify.DecodeWebhook(topic, wh.Body, signer)
	if err != nil {
		return domain.WebhookProcessed{}, nil, err
	}
	switch b := body.(type) {
	case domain.ShopifyOrder:
		return w.orderSnapshot(ctx, p, src, wh.Shop, b)
	case shopify.RefundBody:
		return w.refund(ctx, p, src, wh, b)
	case domain.ShopifyFulfillment:
		return w.fulfillment(ctx, p, src, wh.Shop, b)
	case shopify.OrderEdit:
		// The body lists line ids and deltas only; Shopify's orders/updated
		// snapshot of the edited order carries the lines and totals.
		return domain.WebhookProcessed{Result: "deferred", OrderID: domain.ShopifyOrderID(wh.Shop, b.OrderID).String(),
			Detail: fmt.Sprintf("edit %d is applied from the order snapshot that follows it", b.ID)}, nil, nil
	case shopify.OrderDeletion:
		return w.deleteOrder(ctx, p, src, wh, b)
	case shopify.InventoryLevel:
		return inventoryLevel(ctx, p, src, wh.Shop, b)
	case shopify.Product:
		return mapInventoryItems(ctx, p, src, wh.Shop, b)
	case shopify.Location:
		return nameLocation(ctx, p, src, wh.Shop, b)
	case shopify.Shop:
		return w.uninstall(ctx, p, src, wh)
	case shopify.ComplianceRequest:
		rec := domain.WebhookComplianceRecorded{Topic: topic, Shop: wh.Shop, CustomerID: b.CustomerID, OrdersAffected: b.Orders}
		return domain.WebhookProcessed{Result: "recorded", Detail: topic + " recorded for the personal-data process"},
			[]domain.Event{rec}, nil
	}
	return domain.WebhookProcessed{Result: "ignored", Detail: "topic " + wh.Topic + " is not processed: Ordermill does not model what it reports"}, nil, nil
}

func appliedOrUnchanged(n int, orderID, detail string) domain.WebhookProcessed {
	p := domain.WebhookProcessed{Result: "applied", Detail: detail, OrderID: orderID, Events: n}
	if n == 0 {
		p.Result, p.Detail = "unchanged", "repeats or predates known state"
	}
	return p
}

// orderSnapshot applies a full order body (see applyShopifyOrder).
func (w *Webhooks) orderSnapshot(ctx context.Context, p *Batch, src eventstore.Event, shop string, snap domain.ShopifyOrder) (domain.WebhookProcessed, []domain.Event, error) {
	id := domain.ShopifyOrderID(shop, snap.ID).String()
	res, err := applyShopifyOrder(ctx, p, shop, snap, false, causedBy(shop, src)...)
	n := len(res.Events)
	if err == nil && len(overridesOf(res.Events)) > 0 {
		return domain.WebhookProcessed{Result: "applied", OrderID: id, Events: n,
			Detail: "order snapshot applied over local state Shopify contradicts"}, nil, nil
	}
	return appliedOrUnchanged(n, id, "order snapshot applied"), nil, err
}

// update plans in p the load–decide–append of one stream that processing
// the webhook src decides, the events' ids derived from src (see Outcome).
// Through p it reads and appends, so it needs no store of its own.
func planUpdate[A Aggregate](ctx context.Context, p *Batch, src eventstore.Event, shop, stream string,
	load func([]domain.Event) (A, error), decide func(A) ([]domain.Event, error)) (Result[A], error) {
	return Update(ctx, nil, stream, load, decide, append(causedBy(shop, src), Into(p))...)
}

// causedBy marks what processing the webhook src appends for shop (see Outcome).
func causedBy(shop string, src eventstore.Event) []Option {
	return []Option{By(shop, eventstore.Metadata{}), CausedBy(WebhooksHandler, src)}
}

// refund applies a refunds/create body directly, so the refund shows before
// the snapshot that carries it; the refund's id makes it idempotent with
// that snapshot. A refund of an order not known yet waits for its snapshot.
func (w *Webhooks) refund(ctx context.Context, p *Batch, src eventstore.Event, wh domain.WebhookReceived, r shopify.RefundBody) (domain.WebhookProcessed, []domain.Event, error) {
	id := domain.ShopifyOrderID(wh.Shop, r.OrderID)
	return w.orderNews(ctx, p, src, wh.Shop, id, fmt.Sprintf("refund %d", r.Refund.ID), func(o *domain.Order) ([]domain.Event, error) {
		// Amounts are in the order's currency, which the body need not name.
		exact, err := shopify.DecodeRefund(wh.Body, o.Snapshot().Currency)
		if err != nil {
			return nil, err
		}
		return o.ApplyShopifyRefund(exact.Refund)
	})
}

// fulfillment applies a fulfillments/create or fulfillments/update body: a
// new shipment, or its tracking and status.
func (w *Webhooks) fulfillment(ctx context.Context, p *Batch, src eventstore.Event, shop string, f domain.ShopifyFulfillment) (domain.WebhookProcessed, []domain.Event, error) {
	id := domain.ShopifyOrderID(shop, f.OrderID)
	return w.orderNews(ctx, p, src, shop, id, fmt.Sprintf("fulfillment %d", f.ID), func(o *domain.Order) ([]domain.Event, error) {
		return o.ApplyShopifyFulfillment(f)
	})
}

// deleteOrder hides an order Shopify deleted; its history stays.
func (w *Webhooks) deleteOrder(ctx context.Context, p *Batch, src eventstore.Event, wh domain.WebhookReceived, d shopify.OrderDeletion) (domain.WebhookProcessed, []domain.Event, error) {
	id := domain.ShopifyOrderID(wh.Shop, d.OrderID)
	at := src.RecordedAt
	if t, err := time.Parse(time.RFC3339Nano, wh.TriggeredAt); err == nil && t.UTC().Year() >= 1970 && t.UTC().Year() <= 9999 {
		at = t
	}
	known := false // orderNews calls its command only for an order it has
	outcome, events, err := w.orderNews(ctx, p, src, wh.Shop, id, "deletion", func(o *domain.Order) ([]domain.Event, error) {
		known = true
		return o.DeleteInShopify(at)
	})
	if err != nil || known {
		return outcome, events, err
	}
	// Its snapshot will not carry the deletion: it waits for the order.
	res, err := planUpdate(ctx, p, src, wh.Shop, domain.OrderDeletionStream(id), domain.NewHeldDeletion,
		func(h *domain.HeldDeletion) ([]domain.Event, error) { return h.Hold(at) })
	if err != nil {
		return domain.WebhookProcessed{}, nil, err
	}
	return domain.WebhookProcessed{Result: "deferred", OrderID: id.String(), Events: len(res.Events),
		Detail: "deletion of an order not received yet: the order is placed deleted when it arrives"}, nil, nil
}

// orderNews applies news about an existing order. News of an order not
// known yet is deferred: Shopify's snapshot of the order carries it.
func (w *Webhooks) orderNews(ctx context.Context, p *Batch, src eventstore.Event, shop string, id uuid.UUID, what string,
	apply func(*domain.Order) ([]domain.Event, error)) (domain.WebhookProcessed, []domain.Event, error) {
	unknown := false
	res, err := planUpdate(ctx, p, src, shop, domain.OrderStream(id), orderOrNew, func(order *domain.Order) ([]domain.Event, error) {
		if unknown = order.Version() == 0; unknown {
			return nil, nil
		}
		return apply(order)
	})
	n := len(res.Events)
	if err == nil && unknown {
		return domain.WebhookProcessed{Result: "deferred", OrderID: id.String(),
			Detail: what + " of an order not received yet: its snapshot carries it"}, nil, nil
	}
	return appliedOrUnchanged(n, id.String(), what+" applied"), nil, err
}

// uninstall records app/uninstalled on the shop and destroys its Admin API
// tokens. The shop's webhook secrets stay valid: Shopify still sends
// shop/redact afterwards.
func (w *Webhooks) uninstall(ctx context.Context, p *Batch, src eventstore.Event, wh domain.WebhookReceived) (domain.WebhookProcessed, []domain.Event, error) {
	at := src.RecordedAt
	// A header time JSON cannot hold (outside years 0–9999) would fail every retry.
	if t, err := time.Parse(time.RFC3339Nano, wh.TriggeredAt); err == nil && t.UTC().Year() >= 1970 && t.UTC().Year() <= 9999 {
		at = t
	}
	res, err := planUpdate(ctx, p, src, wh.Shop, domain.ShopStream(wh.Shop), domain.NewShopFromHistory, func(shop *domain.Shop) ([]domain.Event, error) {
		if !shop.Installed() {
			return nil, nil // a repeated uninstall
		}
		return shop.Uninstall(at)
	})
	if err != nil {
		return domain.WebhookProcessed{}, nil, err
	}
	n := len(res.Events)
	if n > 0 { // the tokens go only with an uninstall that counts, never with a reinstalled shop's
		p.Effect(func(ctx context.Context) error { return w.shops.MarkUninstalled(ctx, wh.Shop, at) })
	}
	return appliedOrUnchanged(n, "", "shop uninstalled"), nil, nil
}
