package platform

import (
	"context"
	"time"

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
	return &api.ShopifyApp{App: app, Tokens: &shopify.TokenClient{App: app}, Admin: p.shopifyAdmin(), AppURL: p.Config.AppURL,
		Installed: p.startBackfill}
}

// backfillTimeout bounds an install's backfill run; a longer one is
// finished by the periodic reconciliation.
const backfillTimeout = 30 * time.Minute

// startBackfill reads an installed (or reinstalled) shop's last 60 days of
// orders from Shopify: the run starts at once, beside the request that
// installed it, and shows its progress under /api/v1/shop/backfill.
func (p *Platform) startBackfill(ctx context.Context, shop string, _ bool) error {
	rec := p.Reconciler()
	if err := rec.StartBackfill(ctx, shop); err != nil {
		return err
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), backfillTimeout)
		defer cancel()
		if err := rec.Reconcile(ctx, shop); err != nil {
			p.Log.WarnContext(ctx, "install backfill failed; the periodic reconciliation retries it", "shop", shop, "err", err)
		}
	}()
	return nil
}

// SubscriptionCheck keeps installed shops subscribed to their webhooks.
func (p *Platform) SubscriptionCheck() shops.SubscriptionCheck {
	return shops.SubscriptionCheck{Shops: p.Shops, Admin: p.shopifyAdmin(), URI: p.Config.AppURL + "/webhooks/shopify",
		Interval: p.Config.ShopifySubscriptionsCheck, Log: p.Log}
}
