package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/shopify"
)

const shopsAddUsage = "shops add --domain D --name N --currency C (--access-token T | --client-id I --client-secret S) " +
	"[--webhook-secret S] [--webhook-secret2 S2] [--shopify-id N]"

// shopsCmd registers a shop's credentials: ordermill shops add --domain ...
func shopsCmd(args []string) error {
	if len(args) > 0 && args[0] == "install" {
		return shopsInstallCmd(args[1:])
	}
	if len(args) == 0 || args[0] != "add" {
		return errors.New("usage: " + shopsAddUsage + "\n       " + shopsInstallUsage)
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
	shop, err := p.App().RegisterShop(ctx, shops.Registration{
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

const shopsInstallUsage = "shops install --shop D"

// shopsInstallCmd installs the app on a shop through OAuth as the merchant's
// browser would, against the running server and the Shopify its
// ORDERMILL_SHOPIFY_API_URL names: the install link Shopify would open
// (signed with the app's secret), the grant screen, the callback. For
// development shops, which the simulator approves at once.
func shopsInstallCmd(args []string) error {
	fs := newFlagSet("shops install", shopsInstallUsage)
	shop := fs.String("shop", "", "shop domain, e.g. demo.myshopify.com")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the server to answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !shopify.ValidShop(*shop) {
		return fmt.Errorf("--shop %q is not a myshopify.com shop domain", *shop)
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	q := url.Values{"shop": {*shop}, "timestamp": {strconv.FormatInt(time.Now().Unix(), 10)}}
	q.Set("hmac", shopify.SignQuery(q, cfg.ShopifyClientSecret))
	// Follow the redirects until the one into the app, which carries the
	// owner's session: the install is done there.
	client := &http.Client{Timeout: *timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.Contains(req.URL.Fragment, "access_token=") || len(via) > 5 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := client.Get(cfg.AppURL + "/shopify/install?" + q.Encode())
	if err != nil {
		return fmt.Errorf("install %s: %w (is the server running at ORDERMILL_APP_URL=%s?)", *shop, err, cfg.AppURL)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "access_token=") {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("install %s: the app answered %d: %s", *shop, resp.StatusCode, pageText(body))
	}
	fmt.Printf("%s installed the app through OAuth: it has an expiring Admin API token and its webhook subscriptions\n", *shop)
	return nil
}

var tags = regexp.MustCompile(`<[^>]*>|\s+`)

// pageText is an HTML error page's words, for the terminal.
func pageText(body []byte) string {
	if i := bytes.Index(body, []byte("<h1>")); i >= 0 {
		body = body[i:]
	}
	return strings.TrimSpace(tags.ReplaceAllString(string(body), " "))
}
