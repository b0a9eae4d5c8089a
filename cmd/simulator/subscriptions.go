package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/ast"
)

// subscription is one webhook subscription of a shop, as the Admin API
// shows it.
type subscription struct {
	ID    string `json:"id"`
	Topic string `json:"topic"` // ORDERS_CREATE
	URI   string `json:"uri"`
}

// topicEnum is a webhook topic's WebhookSubscriptionTopic value.
func topicEnum(topic string) string { return strings.ToUpper(strings.ReplaceAll(topic, "/", "_")) }

// subscribedTopics are the topics the simulator can send, by enum value.
var subscribedTopics = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range []string{"orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
		"orders/partially_fulfilled", "orders/edited", "orders/delete", "fulfillments/create", "fulfillments/update", "refunds/create",
		"inventory_levels/update", "products/create", "products/update", "locations/create", "locations/update", "app/uninstalled"} {
		m[topicEnum(t)] = true
	}
	return m
}()

// delivers reports whether Shopify would send topic to the shop: to a shop
// that installed the app through OAuth, only subscribed topics (the privacy
// topics always, as the app's configuration declares them); a shop the
// simulator only knows from scenarios is taken as subscribed to every topic.
func (a *apps) delivers(shop, topic string) bool {
	switch topic {
	case "customers/data_request", "customers/redact", "shop/redact":
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, known := a.installed[shop]; !known {
		return true
	}
	for _, s := range a.subs[shop] {
		if s.Topic == topicEnum(topic) {
			return true
		}
	}
	return false
}

// handlesGraphQL reports whether the operation asks for one of the app
// fields (subscriptions, the installed shop) these endpoints answer.
func handlesGraphQL(op *operation) bool {
	for _, sel := range op.def.SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			switch f.Name {
			case "webhookSubscriptionCreate", "webhookSubscriptions", "shop":
				return true
			}
		}
	}
	return false
}

func (a *apps) answerGraphQL(shop, query string, vars map[string]any) (any, []gqlError) {
	switch {
	case strings.Contains(query, "webhookSubscriptionCreate("):
		return a.createSubscription(shop, vars)
	case strings.Contains(query, "webhookSubscriptions("):
		a.mu.Lock()
		defer a.mu.Unlock()
		nodes := append([]subscription{}, a.subs[shop]...)
		return map[string]any{"webhookSubscriptions": map[string]any{"nodes": nodes,
			"pageInfo": map[string]any{"hasNextPage": false, "endCursor": nil}}}, nil
	default:
		label, _, _ := strings.Cut(shop, ".")
		return map[string]any{"shop": map[string]any{
			"id": fmt.Sprintf("gid://shopify/Shop/%d", shopID(shop)), "name": strings.ToUpper(label[:1]) + label[1:] + " Shop",
			"email": "owner@" + label + ".test", "shopOwnerName": "Owner of " + label, "currencyCode": "USD",
			"myshopifyDomain": shop}}, nil
	}
}

func (a *apps) createSubscription(shop string, vars map[string]any) (any, []gqlError) {
	topic, _ := vars["topic"].(string)
	input, _ := vars["webhookSubscription"].(map[string]any)
	uri, _ := input["uri"].(string)
	type userError struct {
		Field   []string `json:"field"`
		Message string   `json:"message"`
	}
	payload := func(s *subscription, errs ...userError) (any, []gqlError) {
		return map[string]any{"webhookSubscriptionCreate": map[string]any{"webhookSubscription": s, "userErrors": append([]userError{}, errs...)}}, nil
	}
	if !subscribedTopics[topic] {
		return nil, []gqlError{{Message: fmt.Sprintf("Variable $topic of type WebhookSubscriptionTopic! was provided invalid value: %q", topic),
			Extensions: map[string]string{"code": "INVALID_VARIABLE"}}}
	}
	if !validTarget(uri) {
		return payload(nil, userError{Field: []string{"webhookSubscription", "callbackUrl"}, Message: "Address is invalid"})
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range a.subs[shop] {
		if s.Topic == topic && s.URI == uri {
			return payload(nil, userError{Field: []string{"webhookSubscription", "callbackUrl"}, Message: "Address for this topic has already been taken"})
		}
	}
	a.nextSubID++
	s := subscription{ID: fmt.Sprintf("gid://shopify/WebhookSubscription/%d", a.nextSubID), Topic: topic, URI: uri}
	a.subs[shop] = append(a.subs[shop], s)
	return payload(&s)
}

// listSubscriptions handles GET /_sim/shops/{shop}/subscriptions.
func (s *simulator) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	shop := strings.ToLower(r.PathValue("shop"))
	s.admin.apps.mu.Lock()
	subs := append([]subscription{}, s.admin.apps.subs[shop]...)
	s.admin.apps.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"subscriptions": subs})
}

// dropSubscription handles DELETE /_sim/shops/{shop}/subscriptions/{topic}:
// Shopify deleting a subscription whose deliveries kept failing.
func (s *simulator) dropSubscription(w http.ResponseWriter, r *http.Request) {
	shop, topic := strings.ToLower(r.PathValue("shop")), topicEnum(r.PathValue("topic"))
	s.admin.apps.mu.Lock()
	defer s.admin.apps.mu.Unlock()
	kept := s.admin.apps.subs[shop][:0]
	for _, sub := range s.admin.apps.subs[shop] {
		if sub.Topic != topic {
			kept = append(kept, sub)
		}
	}
	s.admin.apps.subs[shop] = kept
	w.WriteHeader(http.StatusNoContent)
}

// uninstall handles POST /_sim/shops/{shop}/uninstall: the merchant removes
// the app. Shopify revokes its tokens, sends app/uninstalled (signed with
// the app's secret) to its subscription, and deletes its subscriptions.
func (s *simulator) uninstall(w http.ResponseWriter, r *http.Request) {
	shop := strings.ToLower(r.PathValue("shop"))
	a := s.admin.apps
	a.mu.Lock()
	if !a.installed[shop] {
		a.mu.Unlock()
		writeJSON(w, http.StatusConflict, map[string]string{"error": "the shop has not installed the app"})
		return
	}
	a.installed[shop] = false
	for t, g := range a.access {
		if g.shop == shop {
			delete(a.access, t)
		}
	}
	for t, g := range a.refresh {
		if g.shop == shop {
			delete(a.refresh, t)
		}
	}
	var target string
	for _, sub := range a.subs[shop] {
		if sub.Topic == "APP_UNINSTALLED" {
			target = sub.URI
		}
	}
	delete(a.subs, shop)
	a.mu.Unlock()
	if target == "" {
		writeJSON(w, http.StatusOK, map[string]any{"webhook_status": 0})
		return
	}
	label, _, _ := strings.Cut(shop, ".")
	body, _ := json.Marshal(shopObject{ID: shopID(shop), Name: label, Email: "owner@" + label + ".test", Domain: shop,
		MyshopifyDomain: shop, Currency: "USD", IanaTimezone: "America/New_York", PlanName: "basic"})
	now := time.Now().UTC()
	d := &delivery{WebhookID: uuid.NewString(), EventID: uuid.NewString(), Topic: "app/uninstalled", Shop: shop,
		TriggeredAt: now.Format(time.RFC3339Nano), HMAC: sign(body, a.cfg.clientSecret), Body: body}
	status, _, err := s.sender.deliverTo(r.Context(), target, d)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhook_status": status})
}
