package shopify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

var (
	webhookSubscriptionCreate = document("webhook_subscription_create")
	webhookSubscriptions      = document("webhook_subscriptions")
	installedShop             = document("installed_shop")
)

// TopicEnum is a topic's WebhookSubscriptionTopic value: orders/create is ORDERS_CREATE.
func TopicEnum(topic string) string { return strings.ToUpper(strings.ReplaceAll(topic, "/", "_")) }

// UserError is a mutation's refusal, in Shopify's words.
type UserError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code,omitempty"` // typed user errors carry one
}

// UserErrors is a mutation's list of refusals, as one error.
type UserErrors []UserError

func (e UserErrors) Error() string {
	msgs := make([]string, len(e))
	for i, u := range e {
		msgs[i] = u.Message
		if len(u.Field) > 0 {
			msgs[i] = strings.Join(u.Field, ".") + ": " + u.Message
		}
	}
	return "Shopify refused: " + strings.Join(msgs, "; ")
}

// ShopInfo is what the app learns about a shop when it installs.
type ShopInfo struct {
	ID        int64
	Name      string
	Email     string // the shop owner's
	OwnerName string
	Currency  string
	Domain    string // the permanent myshopify.com domain
}

// InstalledShop asks Shopify who the shop and its owner are.
func InstalledShop(ctx context.Context, api *AdminClient, shop, token string) (ShopInfo, error) {
	var out struct {
		Shop struct {
			ID              string `json:"id"`
			Name            string `json:"name"`
			Email           string `json:"email"`
			ShopOwnerName   string `json:"shopOwnerName"`
			CurrencyCode    string `json:"currencyCode"`
			MyshopifyDomain string `json:"myshopifyDomain"`
		} `json:"shop"`
	}
	if err := api.query(ctx, shop, token, "InstalledShop", installedShop, nil, &out); err != nil {
		return ShopInfo{}, err
	}
	s := out.Shop
	id, err := strconv.ParseInt(strings.TrimPrefix(s.ID, "gid://shopify/Shop/"), 10, 64)
	if err != nil || !strings.HasPrefix(s.ID, "gid://shopify/Shop/") {
		return ShopInfo{}, fmt.Errorf("shop query: unexpected shop id %q", s.ID)
	}
	return ShopInfo{ID: id, Name: s.Name, Email: s.Email, OwnerName: s.ShopOwnerName, Currency: s.CurrencyCode,
		Domain: strings.ToLower(s.MyshopifyDomain)}, nil
}

// Subscription is one webhook subscription of a shop.
type Subscription struct {
	ID    string `json:"id"`
	Topic string `json:"topic"` // the enum value, ORDERS_CREATE
	URI   string `json:"uri"`
}

// Subscriptions lists the shop's webhook subscriptions, every page.
func Subscriptions(ctx context.Context, api *AdminClient, shop, token string) ([]Subscription, error) {
	var all []Subscription
	var after *string
	for {
		var out struct {
			WebhookSubscriptions struct {
				Nodes    []Subscription `json:"nodes"`
				PageInfo struct {
					HasNextPage bool   `json:"hasNextPage"`
					EndCursor   string `json:"endCursor"`
				} `json:"pageInfo"`
			} `json:"webhookSubscriptions"`
		}
		vars := map[string]any{"first": 100, "after": after}
		if err := api.query(ctx, shop, token, "WebhookSubscriptions", webhookSubscriptions, vars, &out); err != nil {
			return nil, err
		}
		page := out.WebhookSubscriptions
		all = append(all, page.Nodes...)
		if !page.PageInfo.HasNextPage || page.PageInfo.EndCursor == "" {
			return all, nil
		}
		after = &page.PageInfo.EndCursor
	}
}

// EnsureSubscriptions subscribes the shop to every SubscribedTopics topic
// it is not subscribed to at uri (the app's webhook endpoint) and returns
// the topics it created. Shopify removes subscriptions whose deliveries
// keep failing, so this runs on install and then periodically.
func EnsureSubscriptions(ctx context.Context, api *AdminClient, shop, token, uri string) ([]string, error) {
	have, err := Subscriptions(ctx, api, shop, token)
	if err != nil {
		return nil, err
	}
	var created []string
	var errs []error
	for _, topic := range SubscribedTopics {
		enum := TopicEnum(topic)
		if slices.ContainsFunc(have, func(s Subscription) bool { return s.Topic == enum && s.URI == uri }) {
			continue
		}
		var out struct {
			WebhookSubscriptionCreate struct {
				WebhookSubscription *Subscription `json:"webhookSubscription"`
				UserErrors          UserErrors    `json:"userErrors"`
			} `json:"webhookSubscriptionCreate"`
		}
		vars := map[string]any{"topic": enum, "webhookSubscription": map[string]any{"uri": uri, "format": "JSON"}}
		if err := api.query(ctx, shop, token, "WebhookSubscriptionCreate", webhookSubscriptionCreate, vars, &out); err != nil {
			errs = append(errs, fmt.Errorf("subscribe %s to %s: %w", shop, topic, err))
			continue
		}
		if ue := out.WebhookSubscriptionCreate.UserErrors; len(ue) > 0 {
			errs = append(errs, fmt.Errorf("subscribe %s to %s: %w", shop, topic, ue))
			continue
		}
		created = append(created, topic)
	}
	return created, errors.Join(errs...)
}
