package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// idempotencyRequiredSince is the first Admin API version that refuses
// refundCreate and inventoryAdjustQuantities without an @idempotent key.
const idempotencyRequiredSince = "2026-04"

type idempotencyKey struct{ shop, field, key string }

type idempotentResult struct {
	args  string
	value any
	errs  []gqlError
}

// idempotent answers a repeated key with the first call's result, as
// Shopify does for 24 hours, instead of running the mutation again.
func (a *adminAPI) idempotent(resolve rootField) rootField {
	return func(c fieldCall) (any, []gqlError) {
		if c.idempotencyKey == "" {
			if c.version == "unstable" || c.version >= idempotencyRequiredSince {
				return nil, []gqlError{{Message: fmt.Sprintf("The @idempotent directive is required for %s.", c.field),
					Extensions: map[string]string{"code": "BAD_REQUEST"}}}
			}
			return resolve(c)
		}
		args := string(mustJSON(c.args))
		a.idemMu.Lock()
		defer a.idemMu.Unlock()
		k := idempotencyKey{c.shop, c.field, c.idempotencyKey}
		if prev, ok := a.idem[k]; ok {
			if prev.args != args {
				return nil, []gqlError{{Message: "The idempotency key was already used with different parameters.",
					Extensions: map[string]string{"code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"}}}
			}
			return prev.value, prev.errs
		}
		v, errs := resolve(c)
		a.idem[k] = idempotentResult{args: args, value: v, errs: errs}
		return v, errs
	}
}

// runTarget is where a shop known only from scenarios gets its webhooks.
type runTarget struct{ target, secret string }

// webhookTarget is where Shopify sends a shop's topic and the secret it
// signs with: a shop that installed the app through OAuth gets only its
// subscriptions, signed with the app's secret; a shop known only from
// scenarios gets every topic at its last run's target.
func (s *simulator) webhookTarget(shop, topic string) (url, secret string, ok bool) {
	a := s.admin.apps
	a.mu.Lock()
	_, installed := a.installed[shop]
	if installed {
		defer a.mu.Unlock()
		for _, sub := range a.subs[shop] {
			if sub.Topic == topicEnum(topic) {
				return sub.URI, a.cfg.clientSecret, true
			}
		}
		return "", "", false
	}
	a.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.targets[shop]
	return strings.TrimRight(t.target, "/") + "/webhooks/shopify", t.secret, ok
}

// dropWebhook decides whether Shopify loses a delivery, at the configured
// fraction (POST /_sim/faults webhooks.drop_pct, --webhook-drop-pct).
func (s *simulator) dropWebhook() bool {
	s.mu.Lock()
	pct := s.dropPct
	s.mu.Unlock()
	return pct > 0 && rand.Float64()*100 < pct
}

// emit sends the webhooks of a change an Admin API mutation made, after
// the mutation answered, as Shopify does; GET /_sim/deliveries shows them.
func (s *simulator) emit(shop string, a action) {
	eventID := uuid.NewString()
	type send struct {
		url string
		d   *delivery
	}
	var sends []send
	for _, m := range a.msgs {
		url, secret, ok := s.webhookTarget(shop, m.topic)
		if !ok {
			continue
		}
		d := &delivery{WebhookID: uuid.NewString(), EventID: eventID, Topic: m.topic, Shop: shop, OrderID: a.orderID,
			TriggeredAt: a.at.UTC().Format(time.RFC3339Nano), HMAC: sign(m.body, secret), Body: m.body,
			ExpectedStatus: http.StatusOK, Dropped: s.dropWebhook()}
		sends = append(sends, send{url, d})
	}
	s.mu.Lock()
	for _, sd := range sends {
		s.emitted = append(s.emitted, sd.d)
	}
	s.mu.Unlock()
	go func() {
		for _, sd := range sends {
			if sd.d.Dropped {
				continue
			}
			status, attempts, err := s.sender.deliverTo(s.ctx, sd.url, sd.d)
			s.mu.Lock()
			sd.d.Status, sd.d.Attempts = status, attempts
			if err != nil {
				sd.d.Error = err.Error()
			}
			s.mu.Unlock()
		}
	}()
}

// deliveries handles GET /_sim/deliveries: the webhooks mutations caused,
// oldest first, with their outcome (status 0 while still on the way).
func (s *simulator) deliveries(w http.ResponseWriter, r *http.Request) {
	shop := r.URL.Query().Get("shop")
	s.mu.Lock()
	out := []delivery{}
	for _, d := range s.emitted {
		if shop == "" || d.Shop == shop {
			out = append(out, *d)
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": out})
}

// record keeps what Shopify knows once a scenario's webhook leaves: the
// order's state, or a stock level.
func (s *simulator) record(d *delivery) {
	switch {
	case d.state != nil:
		s.orders.record(d.Shop, d.OrderID, d.state)
	case d.Topic == "inventory_levels/update":
		s.admin.levels.recordWebhook(d.Shop, d.Body)
	}
}
