package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/shops"
)

const shopsAddUsage = "shops add --domain D --name N --currency C (--access-token T | --client-id I --client-secret S) " +
	"[--webhook-secret S] [--webhook-secret2 S2] [--shopify-id N]"

// shopsCmd registers a shop's credentials: ordermill shops add --domain ...
func shopsCmd(args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New("usage: " + shopsAddUsage)
	}
	fs := newFlagSet("shops add", shopsAddUsage)
	domainName := fs.String("domain", "", "shop domain, e.g. demo.myshopify.com")
	name := fs.String("name", "", "shop display name")
	currency := fs.String("currency", "USD", "shop currency (ISO 4217)")
	secret := fs.String("webhook-secret", "", "the app's webhook signing secret")
	secret2 := fs.String("webhook-secret2", "", "a second active webhook secret, during rotation")
	token := fs.String("access-token", "", "Admin API access token made by hand (a custom or development app)")
	clientID := fs.String("client-id", "", "client id of the merchant's own Dev Dashboard app: tokens come from the client-credentials grant")
	clientSecret := fs.String("client-secret", "", "client secret of that app; it also signs its webhooks when no --webhook-secret is given")
	shopifyID := fs.Int64("shopify-id", 0, "Shopify's id of the shop; privacy and app/uninstalled webhooks must name it")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *secret == "" {
		*secret = *clientSecret
	}
	secrets := []string{*secret}
	if *secret2 != "" {
		secrets = append(secrets, *secret2)
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	ctx := context.Background()
	p, err := platform.Open(ctx, cfg, platform.NewLogger(cfg.LogLevel), cfg.AutoMigrate)
	if err != nil {
		return err
	}
	defer p.Close()
	shop, err := p.Shops.Add(ctx, shops.Registration{
		Domain: *domainName, Name: *name, Currency: *currency, ShopifyID: *shopifyID, WebhookSecrets: secrets, AccessToken: *token,
		ClientID: *clientID, ClientSecret: *clientSecret,
	}, eventstore.Metadata{Actor: "cli", Source: "cli"})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(shop); err != nil {
		return fmt.Errorf("print shop: %w", err)
	}
	return nil
}
