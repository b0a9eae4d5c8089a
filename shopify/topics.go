// Package shopify is the Shopify adapter: webhook topics, the wire format of
// webhook bodies and its decoding into the domain's types, and the Admin
// GraphQL client.
package shopify

import (
	"slices"
	"strings"
)

// Webhook topics, as Shopify names them in X-Shopify-Topic.
const (
	TopicOrdersCreate             = "orders/create"
	TopicOrdersUpdated            = "orders/updated"
	TopicOrdersPaid               = "orders/paid"
	TopicOrdersCancelled          = "orders/cancelled"
	TopicOrdersFulfilled          = "orders/fulfilled"
	TopicOrdersPartiallyFulfilled = "orders/partially_fulfilled"
	TopicOrdersEdited             = "orders/edited"
	TopicOrdersDelete             = "orders/delete"
	TopicRefundsCreate            = "refunds/create"
	TopicFulfillmentsCreate       = "fulfillments/create"
	TopicFulfillmentsUpdate       = "fulfillments/update"
	TopicInventoryLevelsUpdate    = "inventory_levels/update"
	TopicProductsCreate           = "products/create"
	TopicProductsUpdate           = "products/update"
	TopicLocationsCreate          = "locations/create"
	TopicLocationsUpdate          = "locations/update"
	TopicAppUninstalled           = "app/uninstalled"
	TopicCustomersDataRequest     = "customers/data_request"
	TopicCustomersRedact          = "customers/redact"
	TopicShopRedact               = "shop/redact"
)

// SubscribedTopics are the webhook topics the platform processes, which
// every installed shop is subscribed to. The privacy (compliance) topics
// cannot be subscribed through the API: shopify.app.toml declares them.
var SubscribedTopics = []string{
	TopicOrdersCreate, TopicOrdersUpdated, TopicOrdersPaid, TopicOrdersCancelled, TopicOrdersFulfilled, TopicOrdersEdited, TopicOrdersDelete,
	TopicRefundsCreate, TopicFulfillmentsCreate, TopicFulfillmentsUpdate,
	TopicInventoryLevelsUpdate, TopicProductsCreate, TopicProductsUpdate, TopicLocationsCreate, TopicLocationsUpdate,
	TopicAppUninstalled,
}

// OrderSnapshotTopics are the topics whose bodies are full order snapshots.
var OrderSnapshotTopics = []string{TopicOrdersCreate, TopicOrdersUpdated, TopicOrdersPaid, TopicOrdersCancelled,
	TopicOrdersFulfilled, TopicOrdersPartiallyFulfilled}

// ComplianceTopic reports whether topic is one of Shopify's mandatory GDPR
// webhooks.
func ComplianceTopic(topic string) bool {
	return slices.Contains([]string{TopicCustomersDataRequest, TopicCustomersRedact, TopicShopRedact}, strings.ToLower(topic))
}

// TopicNamesShop reports whether bodies of topic name their shop by
// Shopify id, so that a known id of the signing shop can be compared.
func TopicNamesShop(topic string) bool {
	return topic == TopicAppUninstalled || ComplianceTopic(topic)
}
