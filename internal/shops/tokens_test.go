package shops_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/secrets"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/shopify"
)

// renewer answers refreshes as told; it stands for Shopify's token endpoint,
// whose real behaviour the install tests cover against the simulator.
type renewer struct {
	token shopify.Token
	err   error
	calls int
}

func (r *renewer) Refresh(context.Context, string, string) (shopify.Token, error) {
	r.calls++
	return r.token, r.err
}

func (r *renewer) ClientCredentials(context.Context, string, string, string) (shopify.Token, error) {
	r.calls++
	return r.token, r.err
}

func TestAccessTokenRenewal(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	key, err := secrets.NewKey(bytes.Repeat([]byte{4}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	reg := shops.NewRegistry(pool, key)
	rn := &renewer{}
	reg.SetRenewer(rn)
	const shop = "renew.myshopify.com"
	soon := shopify.Token{AccessToken: "shpat_old", ExpiresAt: time.Now().Add(time.Minute),
		RefreshToken: "shprt_old", RefreshExpiresAt: time.Now().Add(24 * time.Hour)}
	if _, err := app.New(eventstore.New(pool)).WithShops(reg).InstallShop(ctx, shops.Installation{Shop: shop, Name: "Renew", Currency: "USD",
		Grant: shopify.GrantAuthorizationCode, Token: soon, WebhookSecret: "app-secret"}, eventstore.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}

	// Shopify refuses the refresh token: the shop must install again.
	rn.err = &shopify.TokenError{Status: http.StatusBadRequest, Code: "invalid_grant"}
	if _, err := reg.AccessToken(ctx, shop); !errors.Is(err, shopify.ErrNotInstalled) || rn.calls != 1 {
		t.Fatalf("refused refresh: %v after %d calls, want ErrNotInstalled", err, rn.calls)
	}
	// Shopify unavailable is not that: the caller retries.
	rn.err = &shopify.TokenError{Status: http.StatusServiceUnavailable}
	if _, err := reg.AccessToken(ctx, shop); err == nil || errors.Is(err, shopify.ErrNotInstalled) {
		t.Fatalf("unavailable token endpoint: %v", err)
	}
	rn.err, rn.token = nil, shopify.Token{AccessToken: "shpat_new", ExpiresAt: time.Now().Add(time.Hour),
		RefreshToken: "shprt_new", RefreshExpiresAt: time.Now().Add(90 * 24 * time.Hour)}
	if got, err := reg.AccessToken(ctx, shop); err != nil || got != "shpat_new" {
		t.Fatalf("renewed: %q, %v", got, err)
	}
	calls := rn.calls
	if got, err := reg.AccessToken(ctx, shop); err != nil || got != "shpat_new" || rn.calls != calls {
		t.Errorf("a live token was renewed again: %q, %v, %d calls", got, err, rn.calls-calls)
	}
}
