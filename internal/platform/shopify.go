package platform

import (
	"github.com/ordermill/ordermill/api"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/shopify"
	"github.com/ordermill/ordermill/workers"
)

// ShopifyApp is the Shopify app this deployment is, from the configuration.
func (p *Platform) ShopifyApp() shopify.App {
	return shopify.App{ClientID: p.Config.ShopifyClientID, ClientSecret: p.Config.ShopifyClientSecret,
		Scopes: p.Config.ShopifyScopes, BaseURL: p.Config.ShopifyAPIURL}
}

func (p *Platform) shopifyAdmin() *shopify.AdminClient {
	return shopify.NewAdminClient(shopify.AdminConfig{
		BaseURL: p.Config.ShopifyAPIURL, APIVersion: p.Config.ShopifyAPIVersion, Observe: workers.ObserveShopify,
	})
}

// installEndpoints is what the API's Shopify install endpoints use.
func (p *Platform) installEndpoints() *api.ShopifyApp {
	app := p.ShopifyApp()
	return &api.ShopifyApp{App: app, Tokens: &shopify.TokenClient{App: app}, Admin: p.shopifyAdmin(), AppURL: p.Config.AppURL}
}

// SubscriptionCheck keeps installed shops subscribed to their webhooks.
func (p *Platform) SubscriptionCheck() shops.SubscriptionCheck {
	return shops.SubscriptionCheck{Shops: p.Shops, Admin: p.shopifyAdmin(), URI: p.Config.AppURL + "/webhooks/shopify",
		Interval: p.Config.ShopifySubscriptionsCheck, Log: p.Log}
}
