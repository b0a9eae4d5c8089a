package shops_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/secrets"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/shopify"
)

func TestRegistry(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	key, err := secrets.NewKey(bytes.Repeat([]byte{3}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	reg := shops.NewRegistry(pool, key)
	uses := app.New(eventstore.New(pool)).WithShops(reg)
	s, err := uses.RegisterShop(ctx, shops.Registration{Domain: "Demo.myshopify.com", Name: "Demo", Currency: "JPY",
		WebhookSecrets: []string{"whsec-one"}, AccessToken: "shpat_token"}, eventstore.Metadata{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Domain != "demo.myshopify.com" || !s.Installed || s.WebhookSecrets != 1 || s.Currency != "JPY" {
		t.Errorf("added shop = %+v", s)
	}
	if _, err := uses.RegisterShop(ctx, shops.Registration{Domain: "demo.myshopify.com", Name: "Again", Currency: "USD",
		WebhookSecrets: []string{"x"}, AccessToken: "y"}, eventstore.Metadata{}); !errors.Is(err, shops.ErrShopExists) {
		t.Errorf("second add: %v, want ErrShopExists", err)
	}
	var ve *domain.ValidationError
	if _, err := uses.RegisterShop(ctx, shops.Registration{Domain: "b.myshopify.com", Name: "B", Currency: "USD",
		WebhookSecrets: []string{"1", "2", "3"}, AccessToken: "t"}, eventstore.Metadata{}); !errors.As(err, &ve) {
		t.Errorf("three secrets: %v, want a ValidationError", err)
	}

	events, err := eventstore.New(pool).ReadStream(ctx, domain.ShopStream("demo.myshopify.com"), 1)
	if err != nil || len(events) != 1 || events[0].Type != "shop.registered" || events[0].Tenant != "demo.myshopify.com" {
		t.Fatalf("shop stream = %+v, %v", events, err)
	}

	// Sealed at rest: the clear secrets appear nowhere in the row.
	var raw []byte
	if err := pool.QueryRow(ctx, `SELECT convert_to(shops::text, 'UTF8') FROM shops`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("whsec-one")) || bytes.Contains(raw, []byte("shpat_token")) {
		t.Error("a secret is stored in clear")
	}
	got, err := reg.WebhookSecrets(ctx, "demo.myshopify.com")
	if err != nil || len(got) != 1 || string(got[0]) != "whsec-one" {
		t.Fatalf("secrets = %q, %v", got, err)
	}
	if tok, err := reg.AccessToken(ctx, "demo.myshopify.com"); err != nil || tok != "shpat_token" {
		t.Errorf("access token = %q, %v", tok, err)
	}
	if _, err := reg.WebhookSecrets(ctx, "nobody.myshopify.com"); !errors.Is(err, shops.ErrUnknownShop) {
		t.Errorf("unknown shop: %v", err)
	}

	token := "shpat_new"
	if s, err = reg.Rotate(ctx, "demo.myshopify.com", shops.Rotation{WebhookSecrets: []string{"whsec-two", "whsec-one"}, AccessToken: &token}); err != nil || s.WebhookSecrets != 2 {
		t.Fatalf("rotate: %+v, %v", s, err)
	}
	got, _ = reg.WebhookSecrets(ctx, "demo.myshopify.com")
	if len(got) != 2 || string(got[0]) != "whsec-two" || string(got[1]) != "whsec-one" {
		t.Errorf("rotated secrets = %q", got)
	}
	if tok, _ := reg.AccessToken(ctx, "demo.myshopify.com"); tok != token {
		t.Errorf("rotated token = %q", tok)
	}
	if _, err := reg.Rotate(ctx, "nobody.myshopify.com", shops.Rotation{AccessToken: &token}); !errors.Is(err, shops.ErrUnknownShop) {
		t.Errorf("rotate unknown: %v", err)
	}

	// A registry under another key cannot read the secrets.
	other, _ := secrets.NewKey(bytes.Repeat([]byte{4}, secrets.KeySize))
	if _, err := shops.NewRegistry(pool, other).WebhookSecrets(ctx, "demo.myshopify.com"); !errors.Is(err, secrets.ErrOpen) {
		t.Errorf("wrong master key: %v, want ErrOpen", err)
	}

	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := reg.MarkUninstalled(ctx, "demo.myshopify.com", at); err != nil {
		t.Fatal(err)
	}
	if s, _ = reg.Get(ctx, "demo.myshopify.com"); s.Installed || s.UninstalledAt == nil || !s.UninstalledAt.Equal(at) {
		t.Errorf("after uninstall: %+v", s)
	}
	// The Shopify id, when given, is what webhooks naming their shop are checked against.
	if s.ShopifyID != nil {
		t.Errorf("shop registered without a Shopify id has %d", *s.ShopifyID)
	}
	if signer, err := reg.Signer(ctx, "demo.myshopify.com"); err != nil || signer != (shopify.Signer{Domain: "demo.myshopify.com"}) {
		t.Errorf("signer without id = %+v, %v", signer, err)
	}
	c, err := uses.RegisterShop(ctx, shops.Registration{Domain: "c.myshopify.com", Name: "C", Currency: "USD", ShopifyID: 954889,
		WebhookSecrets: []string{"whsec-c"}, AccessToken: "t"}, eventstore.Metadata{})
	if err != nil || c.ShopifyID == nil || *c.ShopifyID != 954889 {
		t.Fatalf("add with Shopify id: %+v, %v", c, err)
	}
	if signer, err := reg.Signer(ctx, "C.myshopify.com"); err != nil || signer != (shopify.Signer{Domain: "c.myshopify.com", ShopID: 954889}) {
		t.Errorf("signer = %+v, %v", signer, err)
	}
	if signer, err := reg.Signer(ctx, "nobody.myshopify.com"); err != nil || signer.ShopID != 0 {
		t.Errorf("signer of an unknown shop = %+v, %v", signer, err)
	}
	registered, err := eventstore.New(pool).ReadStream(ctx, domain.ShopStream("c.myshopify.com"), 1)
	if err != nil || !bytes.Contains(registered[0].Data, []byte(`"shopify_id": 954889`)) {
		t.Errorf("shop.registered = %s, %v", registered[0].Data, err)
	}
	if _, err := uses.RegisterShop(ctx, shops.Registration{Domain: "d.myshopify.com", Name: "D", Currency: "USD", ShopifyID: -5,
		WebhookSecrets: []string{"x"}, AccessToken: "t"}, eventstore.Metadata{}); !errors.As(err, &ve) {
		t.Errorf("negative Shopify id: %v, want a ValidationError", err)
	}
	list, err := reg.List(ctx)
	if err != nil || len(list) != 2 {
		t.Errorf("list = %+v, %v", list, err)
	}
}
